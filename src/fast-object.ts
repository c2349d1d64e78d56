/**
 * Read-only getters added to an object made by a literal, after it is made.
 *
 * Why: V8 (Node 20's 11.3) makes an object literal that has a getter (`{ a, get size() {...} }`)
 * in dictionary mode, so every read and write of any of its properties is a generic hash lookup
 * (V8's LoadIC / StoreIC builtins) instead of a load at a fixed offset. The flow table's
 * `lastDir` / `lastNew` / `lastSlot` and the ingest's counters are read and written per packet:
 * on the benchmark's 1M-packet import those lookups were ~1.3 G of the capture thread's ~9.8 G
 * instructions. A getter defined on the finished object leaves it in fast mode
 * (test/fast-object.test.ts checks the pipeline's objects with V8's %HasFastProperties).
 */
export function withGetters<T extends object, G extends Record<string, () => unknown>>(
  obj: T, getters: G,
): T & { readonly [K in keyof G]: ReturnType<G[K]> } {
  for (const name of Object.keys(getters)) {
    const reader = readerOf(name);
    Object.defineProperty(obj, reader.key, { value: getters[name] });
    Object.defineProperty(obj, name, { get: reader.get, enumerable: true, configurable: true });
  }
  return obj as T & { readonly [K in keyof G]: ReturnType<G[K]> };
}

/**
 * One getter function per property name, shared by every object: V8 keeps an accessor's functions
 * in the object's map (its hidden class), so a second object given another function than the
 * first for the same property cannot share that map and goes to dictionary mode itself. The
 * getter calls the object's own function, kept under a symbol.
 */
const readers = new Map<string, { key: symbol; get: (this: Record<symbol, () => unknown>) => unknown }>();

function readerOf(name: string): { key: symbol; get: (this: Record<symbol, () => unknown>) => unknown } {
  let reader = readers.get(name);
  if (reader === undefined) {
    const key = Symbol(name);
    reader = { key, get() { return this[key](); } };
    readers.set(name, reader);
  }
  return reader;
}
