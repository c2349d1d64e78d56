/**
 * The macOS exposure inputs, parsed by pure functions (src/exposure/os/darwin/):
 * - lsof's field output. Samples written by hand in the format of lsof(8), section "OUTPUT FOR
 *   OTHER PROGRAMS" (one field per line, identifier character first; process sets start with `p`,
 *   file sets with `f`, which lsof 4.88-4.93.2, macOS's 4.91 included, always prints; `T` fields
 *   carry prefixes such as `ST=`), and real output of the lsof installed here (4.95, which prints no
 *   `f` unless asked) for sockets this test opens, checked against the ports it bound.
 * - `launchctl getenv` output: the value and a newline, nothing when unset.
 * - launchd plists: a Homebrew-style plist by hand, and plists written by python3's plistlib
 *   (an independent writer) with values that need escaping.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { parseEndpoint, parseLsofFields } from '../../src/attribution/os/darwin/lsof-fields.js';
import { parseLaunchctlGetenv } from '../../src/exposure/os/darwin/launchctl-env.js';
import { PlistError, plistEnvironment } from '../../src/exposure/os/darwin/plist-env.js';
import { listDarwinListeners } from '../../src/exposure/os/darwin/listeners.js';
import { describeNeeding } from '../helpers/needs.js';

// `lsof -nP -iTCP -iUDP -F pcnPT` on a Mac running Ollama.app (lsof 4.91: `f` always printed).
const MAC_ALL = [
  'p512', 'cOllama', 'f23', 'PTCP', 'n127.0.0.1:52114->127.0.0.1:11434', 'TST=ESTABLISHED', 'TQR=0', 'TQS=0',
  'p700', 'collama', 'f5', 'PTCP', 'n127.0.0.1:11434', 'TST=LISTEN', 'TQR=0', 'TQS=0',
  'f9', 'PTCP', 'n127.0.0.1:11434->127.0.0.1:52114', 'TST=ESTABLISHED', 'TQR=0', 'TQS=0',
  'f12', 'PTCP', 'n192.168.1.20:52200->[2606:4700::6812:1]:443', 'TST=ESTABLISHED', 'TQR=0', 'TQS=0',
  'p88', 'cmDNSResponder', 'f7', 'PUDP', 'n*:5353', 'f8', 'PUDP', 'n[fe80::1%lo0]:5353',
  'p901', 'cllama-server', 'f3', 'PTCP', 'n127.0.0.1:61000', 'TST=LISTEN', 'TQR=0', 'TQS=0',
  '',
].join('\n');

// `lsof -nP -iTCP -sTCP:LISTEN -F pcn` with OLLAMA_HOST=0.0.0.0 (Expose on) and an IPv6 listener.
const MAC_LISTEN = ['p700', 'collama', 'f5', 'n*:11434', 'p950', 'cnode', 'f20', 'n[::1]:3000', 'f21', 'n127.0.0.1:3000', ''].join('\n');

describe('lsof -F field output', () => {
  it('every socket of every process: pid, command, fd, protocol, both ends, TCP state', () => {
    const s = parseLsofFields(MAC_ALL);
    expect(s.map((x) => [x.pid, x.command, x.fd, x.protocol, x.state])).toEqual([
      [512, 'Ollama', '23', 'TCP', 'ESTABLISHED'],
      [700, 'ollama', '5', 'TCP', 'LISTEN'],
      [700, 'ollama', '9', 'TCP', 'ESTABLISHED'],
      [700, 'ollama', '12', 'TCP', 'ESTABLISHED'],
      [88, 'mDNSResponder', '7', 'UDP', null],
      [88, 'mDNSResponder', '8', 'UDP', null],
      [901, 'llama-server', '3', 'TCP', 'LISTEN'],
    ]);
    expect(s[0].local).toEqual({ address: '127.0.0.1', port: 52114 });
    expect(s[0].remote).toEqual({ address: '127.0.0.1', port: 11434 });
    expect(s[1].remote).toBeNull();
    expect(s[3].remote).toEqual({ address: '2606:4700::6812:1', port: 443 });
    expect(s[4].local).toEqual({ address: '*', port: 5353 });
    expect(s[5].local).toEqual({ address: 'fe80::1%lo0', port: 5353 });
  });

  it('listeners (-sTCP:LISTEN -F pcn): wildcard, IPv6 loopback, two sockets of one process', () => {
    const s = parseLsofFields(MAC_LISTEN);
    expect(s.map((x) => [x.pid, x.command, x.local])).toEqual([
      [700, 'ollama', { address: '*', port: 11434 }],
      [950, 'node', { address: '::1', port: 3000 }],
      [950, 'node', { address: '127.0.0.1', port: 3000 }],
    ]);
  });

  it('without f lines (lsof 4.94 and later print f only when asked), CRLF, unknown fields and a process without files', () => {
    const text = ['p1', 'cidle', 'p700', 'collama', 'u501', 'PTCP', 'n127.0.0.1:11434', 'TST=LISTEN', 'PTCP', 'n*:11435', 'TST=LISTEN', ''].join('\r\n');
    const s = parseLsofFields(text);
    expect(s.map((x) => [x.pid, x.command, x.fd, x.local?.port, x.state])).toEqual([[700, 'ollama', null, 11434, 'LISTEN'], [700, 'ollama', null, 11435, 'LISTEN']]);
  });

  it('endpoints: what is not an Internet address reads as none', () => {
    expect(parseEndpoint('*:*')).toEqual({ address: '*', port: null });
    expect(parseEndpoint('localhost:http')).toBeNull(); // not -P: a service name
    expect(parseEndpoint('[::1]')).toBeNull();
    expect(parseEndpoint('1.2.3.4:70000')).toBeNull();
    expect(parseLsofFields('n127.0.0.1:1\n')).toEqual([]); // a file field before any process
  });
});

describeNeeding(['lsof'], 'lsof -F on this machine, sockets this test opened', () => {
  const server = net.createServer();
  const udp = dgram.createSocket('udp4');
  let client: net.Socket | null = null;
  afterAll(() => {
    client?.destroy();
    server.close();
    udp.close();
  });

  it('our listener, both ends of our connection and our UDP socket, by pid and port', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    client = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => client!.once('connect', () => r()));
    const peer = await accepted;
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const me = String(process.pid);
    const all = parseLsofFields(execFileSync('lsof', ['-nP', '-iTCP', '-iUDP', '-F', 'pcnPT', '-a', '-p', me], { encoding: 'utf8' }));
    const mine = (p: number | undefined) => all.filter((s) => s.local?.port === p);
    expect(all.every((s) => s.pid === process.pid)).toBe(true);
    expect(mine(port).map((s) => [s.protocol, s.state, s.remote?.port ?? null]).sort()).toEqual([
      ['TCP', 'ESTABLISHED', client.localPort], ['TCP', 'LISTEN', null],
    ].sort());
    expect(mine(client.localPort)).toMatchObject([{ protocol: 'TCP', state: 'ESTABLISHED', remote: { address: '127.0.0.1', port } }]);
    expect(mine(udp.address().port)).toMatchObject([{ protocol: 'UDP', state: null, local: { address: '127.0.0.1' } }]);
    peer.destroy();

    const listening = parseLsofFields(execFileSync('lsof', ['-nP', '-iTCP', '-sTCP:LISTEN', '-F', 'pcn', '-a', '-p', me], { encoding: 'utf8' }));
    expect(listening.map((s) => [s.pid, s.local])).toContainEqual([process.pid, { address: '127.0.0.1', port }]);
    expect(listening.every((s) => s.remote === null)).toBe(true);
  });
});

describe('launchctl getenv', () => {
  it('the value without its newline; unset prints nothing', () => {
    expect(parseLaunchctlGetenv('0.0.0.0\n')).toBe('0.0.0.0');
    expect(parseLaunchctlGetenv('http://0.0.0.0:11434\n')).toBe('http://0.0.0.0:11434');
    expect(parseLaunchctlGetenv('')).toBeNull();
    expect(parseLaunchctlGetenv('\n')).toBeNull();
  });
});

// What `brew services start ollama` writes (the formula's service block: run, keep_alive,
// working_dir, log paths, environment_variables), with OLLAMA_HOST added by the user.
const HOMEBREW_PLIST = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>EnvironmentVariables</key>
	<dict>
		<key>OLLAMA_FLASH_ATTENTION</key>
		<string>1</string>
		<key>OLLAMA_HOST</key>
		<string>0.0.0.0:11434</string>
		<key>OLLAMA_KV_CACHE_TYPE</key>
		<string>q8_0</string>
	</dict>
	<key>KeepAlive</key>
	<true/>
	<key>Label</key>
	<string>homebrew.mxcl.ollama</string>
	<key>ProgramArguments</key>
	<array>
		<string>/opt/homebrew/opt/ollama/bin/ollama</string>
		<string>serve</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>StandardErrorPath</key>
	<string>/opt/homebrew/var/log/ollama.log</string>
	<key>WorkingDirectory</key>
	<string>/opt/homebrew/var</string>
</dict>
</plist>
`;

describe('launchd plist EnvironmentVariables', () => {
  it('Homebrew\'s ollama plist: the environment launchd starts ollama serve with', () => {
    expect(Object.fromEntries(plistEnvironment(HOMEBREW_PLIST))).toEqual({
      OLLAMA_FLASH_ATTENTION: '1', OLLAMA_HOST: '0.0.0.0:11434', OLLAMA_KV_CACHE_TYPE: 'q8_0',
    });
  });

  it('no EnvironmentVariables: empty; a binary plist or broken XML: one-line PlistError', () => {
    expect(plistEnvironment(HOMEBREW_PLIST.replace(/<key>EnvironmentVariables<\/key>\s*<dict>[\s\S]*?<\/dict>/, '')).size).toBe(0);
    expect(() => plistEnvironment('bplist00\u0000')).toThrow(/^binary property list: convert it with `plutil -convert xml1 -o - FILE`$/);
    expect(() => plistEnvironment('<plist><dict><key>A</key></dict></plist>')).toThrow(PlistError);
    expect(() => plistEnvironment('<plist><dict><string>x</string></dict></plist>')).toThrow(/^malformed property list: expected <key>/);
  });

  it('an internal entity is not expanded (no DTD is read)', () => {
    const xml = '<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x "expanded">]><plist><dict><key>EnvironmentVariables</key><dict><key>A</key><string>&x;</string></dict></dict></plist>';
    // The DOCTYPE's internal subset ends at its first '>': what follows is not a plist.
    expect(() => plistEnvironment(xml)).toThrow(PlistError);
  });
});

describeNeeding(['python3'], 'plists written by python3 plistlib', () => {
  it('values that need escaping, unicode, empty and space-only strings read back exactly', () => {
    const env = { OLLAMA_HOST: 'http://[::]:11434', OLLAMA_ORIGINS: 'https://a.example,<b>&"c"\'', EMPTY: '', SPACES: '  ', UNI: 'モデル ✓', TAB: 'a\tb' };
    const script = 'import json,plistlib,sys; d=json.loads(sys.argv[1]); sys.stdout.buffer.write(plistlib.dumps({"Label":"x","EnvironmentVariables":d,"KeepAlive":True,"N":3,"L":[1,"two"]}, fmt=plistlib.FMT_XML))';
    const xml = execFileSync('python3', ['-c', script, JSON.stringify(env)], { encoding: 'utf8' });
    expect(Object.fromEntries(plistEnvironment(xml))).toEqual(env);
    const binary = execFileSync('python3', ['-c', script.replace('FMT_XML', 'FMT_BINARY'), JSON.stringify(env)]);
    expect(() => plistEnvironment(binary.toString('latin1'))).toThrow(/^binary property list/);
  });
});

describe('what a non-root lsof cannot show', () => {
  const inputs = (out: string) => ({ run: (cmd: string) => (cmd === 'lsof' ? out : null), read: () => null, home: '/nonexistent', root: false });

  it('with this user\'s own Ollama found, others\' listeners are still said to be unseen (never a clean answer)', () => {
    const own = listDarwinListeners(inputs('p700\ncollama\nf5\nn127.0.0.1:11434\n'));
    expect(own.live.listeners.map((l) => [l.pid, l.port])).toEqual([[700, 11434]]);
    expect(own.findings.map((f) => [f.code, f.message])).toEqual([['not-visible',
      'lsof shows a non-root user only their own processes: this user\'s Ollama listeners are listed, and those of other users (or root) cannot be seen; run with sudo']]);
    const none = listDarwinListeners(inputs(''));
    expect(none.findings.map((f) => f.code)).toEqual(['not-visible']);
    expect(listDarwinListeners({ ...inputs('p700\ncollama\nf5\nn127.0.0.1:11434\n'), root: true }).findings).toEqual([]);
  });
});
