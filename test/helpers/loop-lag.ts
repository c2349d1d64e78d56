/** The event loop's longest stall while it runs: a 10 ms timer's lateness, the most it ever was. */
export function watchLoopLag(): { stop(): number } {
  let last = performance.now();
  let maxLag = 0;
  const beat = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - 10);
    last = now;
  }, 10);
  return {
    stop() {
      clearInterval(beat);
      return maxLag;
    },
  };
}
