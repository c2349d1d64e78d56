/**
 * Which modules a child node process loads: `node --import RECORD_RESOLVED ...` registers a resolve
 * hook that writes every URL it resolves to stderr (marked, so the program's own stderr can be told
 * apart), and resolvedUrls() reads them back. `--import` is in the child's execArgv, which its
 * worker threads inherit: a worker registers the hook too, so its modules are recorded as well
 * (Node 20 runs the hooks on a thread of their own).
 */
export const RECORD_RESOLVED = `data:text/javascript,import{register}from'node:module';register('data:text/javascript,import{writeSync}from"node:fs";export async function resolve(s,c,n){const r=await n(s,c);writeSync(2," RESOLVED "+r.url.slice(0,200)+" ");return r}')`;

/** Every URL the child resolved (once each), from its stderr. */
export function resolvedUrls(stderr: string): string[] {
  return [...new Set(stderr.split(' RESOLVED ').slice(1).map((r) => r.split(' ')[0]))];
}

/** The child's stderr without the hook's records: what the program itself wrote. */
export function ownStderr(stderr: string): string {
  return stderr.replace(/ RESOLVED \S+ /g, '');
}
