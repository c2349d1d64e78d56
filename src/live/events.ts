/** A small typed event emitter: listeners per event name, called in the order they were added. */
export class TypedEvents<M extends object> {
  private readonly listeners = new Map<keyof M, ((value: never) => void)[]>();

  on<K extends keyof M>(name: K, listener: (value: M[K]) => void): this {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener as (value: never) => void]);
    return this;
  }

  protected emit<K extends keyof M>(name: K, value: M[K]): void {
    for (const listener of this.listeners.get(name) ?? []) (listener as (value: M[K]) => void)(value);
  }
}
