/**
 * What `launchctl getenv NAME` prints: the value launchd gives the processes it starts (set with
 * `launchctl setenv`, as Ollama's docs tell macOS users to do for OLLAMA_HOST), followed by a
 * newline; nothing (or an empty line) when it is not set.
 */
export function parseLaunchctlGetenv(stdout: string): string | null {
  const value = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
  return value === '' ? null : value;
}
