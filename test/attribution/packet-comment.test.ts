import { describe, expect, it } from 'vitest';
import { makeFlow } from '../helpers/make-flow.js';
import { DIR_IN, DIR_OUT, type Flow } from '../../src/flows/flow.js';
import { attributeFromComment, parsePacketComment } from '../../src/attribution/packet-comment.js';

// Comment groups in the shape ptcpdump's pcapng writer produces (one opt_comment each).
const PROC = 'PID: 4242\nCmd: /usr/local/bin/ollama\nArgs: /usr/local/bin/ollama serve';
const PARENT = 'ParentPID: 1\nParentCmd: /usr/lib/systemd/systemd\nParentArgs: /sbin/init splash';
const CONTAINER = 'ContainerName: ollama\nContainerId: 0123456789ab\nContainerImage: ollama/ollama:latest\nContainerLabels: a=b';
const USER = 'UserId: 997\nGroupId: 996';

describe('parsePacketComment', () => {
  it('reads the process group', () => {
    const p = parsePacketComment(PROC);
    expect(p).toMatchObject({
      pid: 4242,
      name: 'ollama',
      exe: '/usr/local/bin/ollama',
      exeTruncated: false,
      cmdline: ['/usr/local/bin/ollama', 'serve'],
      cmdlineTruncated: false,
      parentPid: null,
      containerId: null,
    });
  });

  it('reads every group when the comments arrive joined', () => {
    const p = parsePacketComment([PROC, USER, PARENT, CONTAINER].join('\n'));
    expect(p).toMatchObject({
      pid: 4242,
      uid: 997,
      gid: 996,
      parentPid: 1,
      parentExe: '/usr/lib/systemd/systemd',
      parentCmdline: ['/sbin/init', '<6 chars>'],
      containerName: 'ollama',
      containerId: '0123456789ab',
      containerImage: 'ollama/ollama:latest',
    });
  });

  it('marks truncated Cmd and Args and drops the ellipsis', () => {
    const p = parsePacketComment('PID: 77\nCmd: /usr/lib/ollama/llama-ser...\nArgs: llama-server --model /very/long...');
    expect(p?.exe).toBe('/usr/lib/ollama/llama-ser');
    expect(p?.exeTruncated).toBe(true);
    expect(p?.cmdline).toEqual(['llama-server', '--model', '/very/long']);
    expect(p?.cmdlineTruncated).toBe(true);
  });

  it('accepts the older Command key, CRLF and extra spaces', () => {
    const p = parsePacketComment('  PID:  31 \r\nCommand: /usr/bin/curl\r\n');
    expect(p).toMatchObject({ pid: 31, name: 'curl', exe: '/usr/bin/curl', cmdline: null });
  });

  it('falls back to argv[0] for the name when Cmd is missing', () => {
    expect(parsePacketComment('PID: 9\nArgs: ollama pull llama3')?.name).toBe('ollama');
    expect(parsePacketComment('PID: 9')?.name).toBe('');
  });

  it('keeps the process group when a parent group follows (first key wins)', () => {
    const p = parsePacketComment(`${PROC}\nPID: 5\nCmd: /bin/other`);
    expect(p?.pid).toBe(4242);
    expect(p?.exe).toBe('/usr/local/bin/ollama');
  });

  it('redacts command lines: Args, ParentArgs and a Cmd that holds more than a path carry no prompt', () => {
    const marker = 'MARKER-c0ffee';
    const body = `{"model":"gemma3:1b","prompt":"${marker}"}`;
    const p = parsePacketComment(`PID: 10\nCmd: /usr/bin/ollama\nArgs: ollama run gemma3:1b tell me ${marker}\nParentPID: 9\nParentCmd: /bin/sh\nParentArgs: sh -c ollama run gemma3:1b ${marker}`);
    expect(p?.cmdline).toEqual(['ollama', 'run', 'gemma3:1b', '<4 chars>', '<2 chars>', `<${marker.length} chars>`]);
    expect(p?.parentCmdline).toEqual(['sh', '-c', '<6 chars>', '<3 chars>', '<9 chars>', `<${marker.length} chars>`]);
    const q = parsePacketComment(`PID: 11\nCmd: /usr/bin/curl -d ${body} http://127.0.0.1:11434/api/generate`);
    expect(q).toMatchObject({ name: 'curl', exe: `/usr/bin/curl -d <${body.length} chars> <35 chars>` });
    expect(JSON.stringify([p, q])).not.toContain(marker);
  });

  it('returns null for other comment text', () => {
    for (const junk of [
      '',
      'captured on my laptop',
      'pid: 12',            // keys are case-sensitive, as in ptcpdump's reader
      'PID: abc\nCmd: /bin/x',
      'PID: -4',
      'PID: 0\nCmd: /bin/x',
      'PID: 12abc',
      'PID: 99999999999999999999',
      'ParentPID: 1\nParentCmd: /sbin/init',
      'ContainerName: x',
      'PID 12 Cmd curl',
    ]) {
      expect(parsePacketComment(junk), junk).toBeNull();
    }
  });
});

describe('attributeFromComment', () => {
  function emptyFlow(): Flow {
    return makeFlow({ initiatorAddr: Buffer.from([10, 0, 0, 2]), responderAddr: Buffer.from([1, 1, 1, 1]), closed: false });
  }

  it('sets the process from the first comment that names one', () => {
    const f = emptyFlow();
    attributeFromComment(f, DIR_OUT, 'hello');
    expect(f.process).toBeNull();
    attributeFromComment(f, DIR_OUT, PROC);
    expect(f.process).toEqual({ pid: 4242, name: 'ollama', exe: '/usr/local/bin/ollama' });
    attributeFromComment(f, DIR_OUT, 'PID: 1\nCmd: /bin/curl');
    expect(f.process?.pid).toBe(4242);
  });

  it('leaves an existing attribution alone', () => {
    const f = emptyFlow();
    f.process = { pid: 5, name: 'curl', exe: null };
    attributeFromComment(f, DIR_OUT, PROC);
    expect(f.process).toEqual({ pid: 5, name: 'curl', exe: null });
  });

  it('a comment on a packet from a remote responder names the local receiver: the process, no peer', () => {
    const f = emptyFlow();
    attributeFromComment(f, DIR_IN, 'PID: 31\nCmd: /usr/bin/curl');
    attributeFromComment(f, DIR_OUT, 'PID: 31\nCmd: /usr/bin/curl');
    expect(f.process?.pid).toBe(31);
    expect(f.peerProcess).toBeNull();
  });

  it('on loopback (and between equal addresses) a comment on a responder packet names the server: the peer', () => {
    for (const addr of [[127, 0, 0, 1], [10, 0, 0, 2]]) {
      const f = makeFlow({ initiatorAddr: Buffer.from(addr), responderAddr: Buffer.from(addr), responderPort: 11434, closed: false });
      attributeFromComment(f, DIR_IN, PROC); // the server's SYN-ACK may be the first commented packet
      expect(f.process).toBeNull();
      attributeFromComment(f, DIR_OUT, 'PID: 31\nCmd: /usr/bin/curl');
      attributeFromComment(f, DIR_IN, 'PID: 1\nCmd: /bin/other');
      expect(f.process).toEqual({ pid: 31, name: 'curl', exe: '/usr/bin/curl' });
      expect(f.peerProcess).toEqual({ pid: 4242, name: 'ollama', exe: '/usr/local/bin/ollama' });
    }
  });
});
