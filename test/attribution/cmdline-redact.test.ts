import { describe, expect, it } from 'vitest';
import { placeholder, redactArgv, redactCommandText } from '../../src/attribution/cmdline-redact.js';

const PROMPT = 'why is the sky blue? MARKER-7f3a';
const BODY = '{"model":"gemma3:1b","prompt":"MARKER-7f3a"}';

describe('redactArgv', () => {
  it('ollama run keeps the subcommand and the model, not the prompt', () => {
    expect(redactArgv(['ollama', 'run', 'gemma3:1b', PROMPT])).toEqual(['ollama', 'run', 'gemma3:1b', `<${PROMPT.length} chars>`]);
  });

  it('options of ollama run keep their names; the prompt after them is still replaced', () => {
    expect(redactArgv(['/usr/local/bin/ollama', 'run', '--verbose', 'llama3.2', '--format', 'json', PROMPT]))
      .toEqual(['/usr/local/bin/ollama', 'run', '--verbose', 'llama3.2', '--format', '<4 chars>', `<${PROMPT.length} chars>`]);
    expect(redactArgv(['ollama', 'run', '--keepalive=5m', 'qwen3', 'hi there'])).toEqual(['ollama', 'run', '--keepalive=<2 chars>', 'qwen3', '<8 chars>']);
  });

  it('ollama serve, pull, list, ps keep their subcommand and model', () => {
    expect(redactArgv(['ollama', 'serve'])).toEqual(['ollama', 'serve']);
    expect(redactArgv(['ollama', 'pull', 'tinyllama'])).toEqual(['ollama', 'pull', 'tinyllama']);
    expect(redactArgv(['ollama', 'list'])).toEqual(['ollama', 'list']);
    expect(redactArgv(['ollama', 'ps', 'extra'])).toEqual(['ollama', 'ps', '<5 chars>']);
    expect(redactArgv(['ollama', 'create', 'mine', '-f', './Modelfile'])).toEqual(['ollama', 'create', 'mine', '-f', '<11 chars>']);
  });

  it('ollama runner keeps --model PATH, replaces other values', () => {
    const argv = ['/usr/bin/ollama', 'runner', '--ollama-engine', '--model', '/root/.ollama/models/blobs/sha256-abc', '--port', '40123'];
    expect(redactArgv(argv)).toEqual(['/usr/bin/ollama', 'runner', '--ollama-engine', '--model', '/root/.ollama/models/blobs/sha256-abc', '--port', '<5 chars>']);
  });

  it('llama-server and the old runner keep -m/--model (also --model=PATH), nothing else', () => {
    expect(redactArgv(['/usr/lib/ollama/llama-server', '-m', '/m/blob', '--host', '127.0.0.1', '--port', '5000']))
      .toEqual(['/usr/lib/ollama/llama-server', '-m', '/m/blob', '--host', '<9 chars>', '--port', '<4 chars>']);
    expect(redactArgv(['ollama_llama_server', '--model=/m/blob', '--ctx-size', '2048']))
      .toEqual(['ollama_llama_server', '--model=/m/blob', '--ctx-size', '<4 chars>']);
  });

  it('a process whose argv[0] is not ollama but whose exe is, is treated as ollama', () => {
    expect(redactArgv(['./o', 'run', 'm', 'secret'], '/usr/bin/ollama (deleted)')).toEqual(['./o', 'run', 'm', '<6 chars>']);
  });

  it('any other program: argv[0] and option names only', () => {
    const argv = ['curl', '-s', '-d', BODY, 'http://127.0.0.1:11434/api/generate'];
    expect(redactArgv(argv)).toEqual(['curl', '-s', '-d', `<${BODY.length} chars>`, '<35 chars>']);
    expect(redactArgv(['python3', 'chat.py', '--prompt', PROMPT])).toEqual(['python3', '<7 chars>', '--prompt', `<${PROMPT.length} chars>`]);
    // A non-Ollama program's -m/--model value is not kept: only the Ollama tree's is a model path.
    expect(redactArgv(['python3', '-m', 'client', PROMPT])).toEqual(['python3', '-m', '<6 chars>', `<${PROMPT.length} chars>`]);
  });

  it('bundled short options and attached values are replaced whole (they may be a value)', () => {
    expect(redactArgv(['curl', '-sSL', `-d${BODY}`, '--data-raw', BODY]))
      .toEqual(['curl', '<4 chars>', `<${BODY.length + 2} chars>`, '--data-raw', `<${BODY.length} chars>`]);
  });

  it('--name=value keeps the name only; a value that looks like an option after -- is an argument', () => {
    expect(redactArgv(['node', '--data={"prompt":"x"}'])).toEqual(['node', '--data=<14 chars>']);
    expect(redactArgv(['ollama', 'run', 'm', '--', '--not-an-option'])).toEqual(['ollama', 'run', 'm', '--', '<15 chars>']);
  });

  it('the prompt is never kept as the model even when it comes first', () => {
    // `ollama run` without a model: the first positional after the subcommand is what ollama reads as the model.
    expect(redactArgv(['ollama', 'run'])).toEqual(['ollama', 'run']);
    expect(redactArgv(['ollama', 'show', 'gemma3', '--modelfile'])).toEqual(['ollama', 'show', 'gemma3', '--modelfile']);
    expect(redactArgv(['ollama', 'run', 'gemma3', 'a', 'b'])).toEqual(['ollama', 'run', 'gemma3', '<1 chars>', '<1 chars>']);
  });

  it('counts characters (code points), not bytes or UTF-16 units', () => {
    expect(placeholder('héllo 🦙')).toBe('<7 chars>');
    expect(redactArgv(['ollama', 'run', 'm', 'héllo 🦙'])).toEqual(['ollama', 'run', 'm', '<7 chars>']);
  });

  it('an argv rewritten into one string (setproctitle) keeps its first word only', () => {
    expect(redactArgv(['sshd: alice@pts/0'])).toEqual(['sshd:', '<11 chars>']);
    expect(redactArgv(['python3 chat.py --prompt secret words', 'x'])).toEqual(['python3', '<7 chars>', '--prompt', '<6 chars>', '<5 chars>', '<1 chars>']);
    expect(redactArgv(['/usr/bin/ollama run gemma3 tell me'])).toEqual(['/usr/bin/ollama', 'run', 'gemma3', '<4 chars>', '<2 chars>']);
  });

  it('empty argv (kernel threads) and argv[0] alone are kept as they are', () => {
    expect(redactArgv([])).toEqual([]);
    expect(redactArgv(['/usr/sbin/sshd'])).toEqual(['/usr/sbin/sshd']);
    expect(redactArgv(['ollama', ''])).toEqual(['ollama', '']);
  });
});

describe('redactCommandText (ptcpdump Args:, a Cmd: with a command line)', () => {
  it('splits on spaces and applies the same rule per word', () => {
    expect(redactCommandText('/usr/bin/ollama run gemma3:1b why is MARKER-7f3a')).toBe('/usr/bin/ollama run gemma3:1b <3 chars> <2 chars> <11 chars>');
    expect(redactCommandText(`curl -d ${BODY} http://127.0.0.1:11434/api/generate`)).toBe(`curl -d <${BODY.length} chars> <35 chars>`);
    expect(redactCommandText('/usr/local/bin/ollama')).toBe('/usr/local/bin/ollama');
  });
});
