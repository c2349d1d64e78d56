/**
 * What of a process's command line the store may keep. Arguments carry users' words:
 * `ollama run gemma3 "my prompt"`, `curl -d '{"prompt":"…"}' …/api/generate`. So, unless the
 * user chose `--keep-cmdline`, every argument is replaced by `<N chars>` (N its length in
 * characters, code points), except what names the program and, for the Ollama tree, what it runs:
 *
 * - argv[0], as the process gave it; but a process that rewrote its argv into one string with
 *   spaces (setproctitle, `process.title`: `nginx: worker process`, `sshd: user@pts/0`) has its
 *   whole command line there: then only its first word is kept and the rest redacted as arguments.
 * - option names: `-X` (one letter) and `--long-name`; `--name=value` keeps `--name=` and
 *   replaces the value. A bundle or an attached value (`-sSL`, `-dPROMPT`) cannot be told from
 *   a value, so it is replaced whole. Everything after `--` is an argument.
 * - Ollama CLI/server (`ollama`, `ollama.exe`): the subcommand (`serve`, `run`, `pull`, `runner`...)
 *   and, for subcommands that name a model (`run MODEL`, `pull MODEL`, ...), that first argument.
 * - Ollama runners (`ollama runner`, `llama-server`, `ollama_llama_server`, `llama-quantize`): the
 *   value of `--model`/`-m` (the model file's path).
 */
import { processShape } from '../knowledge/processes.js';

/** `ollama` subcommands whose first argument is a model name. */
const MODEL_SUBCOMMANDS: ReadonlySet<string> = new Set(['run', 'pull', 'push', 'show', 'create', 'rm', 'cp', 'stop']);

/** Runner options whose value is the model path. */
const MODEL_OPTIONS: ReadonlySet<string> = new Set(['--model', '-m']);

const LONG_OPTION = /^--[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SHORT_OPTION = /^-[A-Za-z0-9?]$/;

/** `<N chars>`: what stands for an argument that is not kept. */
export function placeholder(arg: string): string {
  let n = 0;
  for (const _ of arg) n++;
  return `<${n} chars>`;
}

function basename(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut < 0 ? path : path.slice(cut + 1);
}

type Tree = 'ollama' | 'runner' | null;

/** Which redaction rule applies: the `ollama` binary (subcommands), a runner binary, or neither. */
function treeOf(argv: readonly string[], exe: string | null): Tree {
  for (const name of [argv[0], exe]) {
    if (!name) continue;
    const base = basename(name.replace(/ \(deleted\)$/, ''));
    const shape = processShape(base, argv);
    if (shape === null) continue;
    if (shape.names.includes('ollama')) return 'ollama';
    if (shape.role === 'runner') return 'runner';
  }
  return null;
}

/** An option name kept as is, `--name=value` with its value replaced, or null: not an option. */
function optionForm(arg: string): string | null {
  if (SHORT_OPTION.test(arg) || LONG_OPTION.test(arg)) return arg;
  const eq = arg.indexOf('=');
  if (eq > 2 && LONG_OPTION.test(arg.slice(0, eq))) return `${arg.slice(0, eq + 1)}${placeholder(arg.slice(eq + 1))}`;
  return null;
}

/**
 * argv with every argument the store may not keep replaced by `<N chars>` (see the file comment).
 * `exe` (the executable path) helps recognise an Ollama process whose argv[0] was changed.
 */
export function redactArgv(argv: readonly string[], exe: string | null = null): string[] {
  if (argv.length === 0) return [];
  if (/\s/.test(argv[0])) return redactArgv([...argv[0].split(/\s+/).filter((w) => w !== ''), ...argv.slice(1)], exe);
  const tree = treeOf(argv, exe);
  const out = [argv[0]];
  let positionals = 0;
  let afterDashes = false;
  let keepNextAsModel = false;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    if (!afterDashes && arg === '--') {
      afterDashes = true;
      out.push(arg);
      keepNextAsModel = false;
      continue;
    }
    const opt = afterDashes ? null : optionForm(arg);
    if (opt !== null) {
      const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
      // `--model=PATH` of a runner keeps its path too.
      out.push(tree !== null && MODEL_OPTIONS.has(name) && arg.includes('=') ? arg : opt);
      keepNextAsModel = tree !== null && MODEL_OPTIONS.has(arg);
      continue;
    }
    if (keepNextAsModel) {
      out.push(arg);
      keepNextAsModel = false;
      continue;
    }
    positionals++;
    out.push(keptPositional(tree, argv, positionals) ? arg : placeholder(arg));
  }
  return out;
}

/** The `ollama` binary: its subcommand (1st positional) and, for a model subcommand, the model (2nd). */
function keptPositional(tree: Tree, argv: readonly string[], n: number): boolean {
  if (tree !== 'ollama') return false;
  if (n === 1) return true;
  return n === 2 && MODEL_SUBCOMMANDS.has(firstPositional(argv) ?? '');
}

function firstPositional(argv: readonly string[]): string | null {
  for (let i = 1; i < argv.length; i++) if (optionForm(argv[i]) === null) return argv[i];
  return null;
}

/**
 * A command line given as one space-joined string (ptcpdump's `Args:`, and a `Cmd:` that holds more
 * than a path), redacted like argv. Arguments that contained spaces cannot be told apart: each
 * space-separated word counts as one argument, so the counts are of words.
 */
export function redactCommandText(text: string, exe: string | null = null): string {
  const words = text.split(' ').filter((w) => w !== '');
  return redactArgv(words, exe).join(' ');
}

/**
 * A ptcpdump `Cmd:` value: normally the executable's path, kept; when it holds a whole command
 * line (words after the path), those words are redacted like argv. A path with a space in it
 * loses the part after the space: it cannot be told from an argument.
 */
export function redactCmdField(value: string): string {
  return /\s/.test(value) ? redactCommandText(value.replace(/\s+/g, ' ')) : value;
}
