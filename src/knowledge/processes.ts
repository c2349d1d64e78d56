/**
 * The processes of the Ollama tree and the role each plays.
 * From docs/ollama-network.md#processes-attribution-must-cover-the-whole-tree: [src] llm/llama_server.go, discover/, cmd/cmd.go.
 * Linux truncates /proc/<pid>/comm to 15 bytes (TASK_COMM_LEN 16), so `ollama_llama_server`
 * arrives as `ollama_llama_se`: names are compared on their first 15 characters too.
 */

export type Role = 'server' | 'runner' | 'app' | 'cli';

export interface ProcessShape {
  /** Executable names (basename); matched exactly, or on the first 15 characters of a truncated comm. */
  names: readonly string[];
  /** First argument that picks this shape (`serve`, `runner`); null: any arguments. */
  subcommand: string | null;
  role: Role;
  what: string;
  since: string | null;
  /** Last version known to use it; null while still in use. */
  until: string | null;
  source: string;
}

const COMM_LEN = 15;

export const PROCESS_SHAPES: readonly ProcessShape[] = [
  { names: ['ollama', 'ollama.exe'], subcommand: 'serve', role: 'server', what: 'ollama serve (the API server)',
    since: null, until: null, source: '[src] cmd/cmd.go RunServer' },
  { names: ['ollama', 'ollama.exe'], subcommand: 'runner', role: 'runner',
    what: 'ollama runner (model runner child; --mlx-engine in v0.30+)', since: 'v0.5.2', until: null,
    source: '[src] llm/llama_server.go' },
  { names: ['ollama', 'ollama.exe'], subcommand: 'gpu-discover', role: 'runner',
    what: 'ollama gpu-discover (short-lived device discovery child)', since: 'v0.30', until: null,
    source: '[src] discover/' },
  { names: ['llama-server', 'llama-server.exe'], subcommand: null, role: 'runner',
    what: 'llama-server (model runner child from lib/ollama/, or a --list-devices discovery run)',
    since: 'v0.30', until: null, source: '[src] llm/llama_server.go, discover/' },
  { names: ['llama-quantize', 'llama-quantize.exe'], subcommand: null, role: 'runner',
    what: 'llama-quantize (quantization child)', since: 'v0.30', until: null, source: '[src] llm/llama_server.go' },
  { names: ['ollama_llama_server', 'ollama_llama_server.exe'], subcommand: null, role: 'runner',
    what: 'ollama_llama_server (model runner child before v0.5.2)', since: null, until: 'v0.5.1',
    source: '[src] llm/llama_server.go (older releases)' },
  { names: ['ollama app.exe', 'ollama app'], subcommand: null, role: 'app', what: 'Windows desktop app',
    since: null, until: null, source: '[src] app/' },
  { names: ['Ollama', 'Ollama.app'], subcommand: null, role: 'app', what: 'macOS desktop app',
    since: null, until: null, source: '[src] app/' },
  // Any other `ollama` invocation (run, pull, list...) is the CLI, a client of the API port.
  { names: ['ollama', 'ollama.exe'], subcommand: null, role: 'cli', what: 'ollama CLI',
    since: null, until: null, source: '[src] cmd/cmd.go' },
];

function basename(name: string): string {
  const cut = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  return cut < 0 ? name : name.slice(cut + 1);
}

function nameMatches(candidate: string, comm: string): boolean {
  if (candidate === comm) return true;
  // Windows file names are case-insensitive; elsewhere `Ollama` (macOS app) and `ollama` differ.
  if (candidate.endsWith('.exe') && candidate.toLowerCase() === comm.toLowerCase()) return true;
  return comm.length === COMM_LEN && candidate.length > COMM_LEN && candidate.startsWith(comm);
}

/** argv from a NUL-separated /proc cmdline, a space-joined string, or an array. */
function argv(cmdline: string | readonly string[]): string[] {
  const parts = typeof cmdline === 'string' ? cmdline.split(/[\0\s]+/) : [...cmdline];
  return parts.filter((p) => p !== '');
}

/** The first argument after argv[0] that is not a flag. */
function subcommandOf(args: readonly string[]): string | null {
  for (let i = 1; i < args.length; i++) if (!args[i].startsWith('-')) return args[i];
  return null;
}

/** The shape a process has, or null when it is not part of the Ollama tree. */
export function processShape(comm: string, cmdline?: string | readonly string[] | null): ProcessShape | null {
  const name = basename(comm.trim());
  if (name === '') return null;
  const args = cmdline ? argv(cmdline) : null;
  const sub = args ? subcommandOf(args) : null;
  for (const shape of PROCESS_SHAPES) {
    if (!shape.names.some((n) => nameMatches(n, name))) continue;
    if (shape.subcommand === null) {
      // Without a cmdline we cannot tell `ollama serve` from the CLI: the long-lived process
      // that makes outbound calls is the server, so that is the better guess. [inferred]
      if (args === null && shape.role === 'cli') return PROCESS_SHAPES[0];
      return shape;
    }
    if (sub === shape.subcommand) return shape;
  }
  return null;
}

/** server | runner | app | cli for a process of the Ollama tree, else null. `comm` may be a path. */
export function processRole(comm: string, cmdline?: string | readonly string[] | null): Role | null {
  return processShape(comm, cmdline)?.role ?? null;
}

/**
 * Where the Ollama tree lives on macOS, for a process whose path is known (a pktap capture's
 * Process Information Block may carry one; `ps`/`lsof` give it). From docs/ollama-network.md#processes-attribution-must-cover-the-whole-tree
 * (Ollama.app starts `ollama serve`) and the two install layouts: the app bundle
 * (`Contents/MacOS/Ollama` the app, `Contents/Resources/ollama` the server it starts) and Homebrew
 * (`/opt/homebrew` on Apple silicon, `/usr/local` on Intel: `opt/ollama/bin/ollama`, the Cellar
 * copy, and `libexec/lib/ollama/llama-server`, the runner). [src] app/, llm/llama_server.go; Homebrew's ollama formula.
 */
export const MACOS_OLLAMA_PATHS: readonly { pattern: RegExp; role: Role; what: string }[] = [
  { pattern: /\/Ollama\.app\/Contents\/MacOS\/Ollama$/, role: 'app', what: 'Ollama.app (the desktop app)' },
  { pattern: /\/Ollama\.app\/Contents\/Resources\/ollama$/, role: 'server', what: 'Ollama.app\'s server, started as `ollama serve`' },
  { pattern: /\/Ollama\.app\/Contents\/Resources\/(lib\/ollama\/)?llama-server$/, role: 'runner', what: 'Ollama.app\'s runner' },
  { pattern: /^\/(opt\/homebrew|usr\/local)\/(opt\/ollama|Cellar\/ollama\/[^/]+)\/bin\/ollama$/, role: 'server', what: 'Homebrew ollama (`brew services` runs `ollama serve`)' },
  { pattern: /^\/(opt\/homebrew|usr\/local)\/(opt\/ollama|Cellar\/ollama\/[^/]+)\/libexec\/lib\/ollama\/llama-server$/, role: 'runner', what: 'Homebrew ollama\'s runner' },
];

/** macOS p_comm (what pktap names a process by) holds at most 16 bytes (MAXCOMLEN). */
export const PKTAP_NAME_LEN = 16;

/**
 * The role of a process a macOS pktap capture names: by its path where known, else by its name
 * (cut to 16 bytes, so `ollama_llama_server` arrives as `ollama_llama_ser`). No command line: a
 * bare `ollama` is taken as the server, as processRole does. Executable UUIDs of Ollama builds
 * are not known to us (each release has its own), so the UUID is kept but not matched.
 */
export function pktapProcessRole(name: string, path: string | null): Role | null {
  if (path !== null) {
    const known = MACOS_OLLAMA_PATHS.find((p) => p.pattern.test(path));
    if (known !== undefined) return known.role;
  }
  const role = processRole(name);
  if (role !== null || name.length !== PKTAP_NAME_LEN) return role;
  const cut = PROCESS_SHAPES.find((s) => s.names.some((n) => n.length > PKTAP_NAME_LEN && n.startsWith(name)));
  return cut?.role ?? null;
}
