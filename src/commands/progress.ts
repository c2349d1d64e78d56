/**
 * A one-line progress display on stderr, only when stderr is a terminal: pipes and CI logs stay
 * quiet. Redrawn at most every 100 ms.
 */
export function createProgress(stream: NodeJS.WriteStream = process.stderr) {
  const enabled = !!stream.isTTY;
  let last = 0;
  let shown = false;

  function update(text: string): void {
    if (!enabled) return;
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    const width = (stream.columns || 80) - 1;
    stream.write(`\r${text.slice(0, width).padEnd(width)}`);
    shown = true;
  }

  function done(): void {
    if (enabled && shown) stream.write(`\r${' '.repeat((stream.columns || 80) - 1)}\r`);
    shown = false;
  }

  return { update, done, enabled };
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}
