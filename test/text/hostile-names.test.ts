/**
 * Nothing from the network or another user reaches a terminal or a renderer raw. The capture
 * (fixtures/make/hostile.sh) holds names real clients sent with terminal escapes, BEL, DEL, a bidi
 * override and GFM autolinks: a DNS query (dig), an HTTP Host and request target (curl), a CONNECT
 * target (curl), an SNI (openssl), an interface name (dumpcap on a veth named with ESC) and a
 * ptcpdump comment naming a process with an ESC in its executable; it is imported under a file name with an ESC too. Every text output, report.md and
 * report.html must show those controls as `\x1b`-style text; `--json` must keep them exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from '../helpers/run-cli.js';
import { fixture } from '../differential/fixture-files.js';
import { outsideCodeSpans } from '../helpers/markdown.js';

const CAPTURE = fixture('hostile/hostile-names.pcapng');
/** What each client was told to send (written by the scenario, not by the tool). */
const FACTS = JSON.parse(readFileSync(`${CAPTURE}.facts`, 'utf8')) as Record<'http_host' | 'http_path' | 'sni' | 'connect_host' | 'exe' | 'dns_name' | 'interface', string>;
const FILE_NAME = 'cap\x1b]0;PWN-FILE\x07\u202e.pcapng';

/** Bytes a terminal, a Markdown renderer or a browser would act on: C0 but \n and \t, DEL, C1, bidi/format controls. */
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u;

function expectShownSafely(what: string, text: string): void {
  const bad = UNSAFE.exec(text);
  expect(bad, `${what} holds U+${bad?.[0].codePointAt(0)!.toString(16).padStart(4, '0')} at ${bad?.index}: ${JSON.stringify(text.slice(Math.max(0, (bad?.index ?? 0) - 40), (bad?.index ?? 0) + 20))}`).toBeNull();
  expect(text, `${what} shows the escape as text`).toContain('\\x1b');
}

/** The bytes on the wire as the tool reads an HTTP head or a DNS name: one character per byte (latin1) / UTF-8. */
const asLatin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

describe('outside text is shown with its controls visible (hostile-names.pcapng)', () => {
  let dir: string;
  let db: string;
  let capture: string;
  let imported: CliRun;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaes-hostile-'));
    db = join(dir, 'a.db');
    capture = join(dir, FILE_NAME);
    copyFileSync(CAPTURE, capture);
    imported = await runCli('import', '--db', db, capture);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the capture holds the hostile bytes the clients sent (read independently of the tool)', () => {
    const raw = readFileSync(CAPTURE);
    for (const [field, s] of Object.entries(FACTS)) {
      expect(raw.includes(field === 'dns_name' ? dnsWireName(s) : Buffer.from(s, 'utf8')), field).toBe(true);
    }
  });

  it('import prints the file name with its controls visible', () => {
    expect(imported.code).toBe(0);
    expectShownSafely('import', imported.stdout + imported.stderr);
    expect(imported.stdout).toContain('cap\\x1b]0;PWN-FILE\\x07\\u{202e}.pcapng');
    expect(imported.stdout).toContain('oaes\\x1b[31mA: Ethernet'); // the second interface's name, from dumpcap
  });

  it('flows: the table shows every name visibly; --json keeps the exact values', async () => {
    const text = await runCli('flows', '--db', db);
    expect(text.code).toBe(0);
    expectShownSafely('flows', text.stdout);
    expect(text.stdout).toContain('evil\\x1b]0;pwn-connect\\x07.example (connect)');
    expect(text.stdout).toContain('http://evil.example/x\\x1b]0;pwn-dns\\x07\\u{202e}.test (dns)');
    expect(text.stdout).toContain('\\x1b]0;PWN-COMM\\x07\\u{202e}x[4242]');

    const json = await runCli('flows', '--db', db, '--json');
    const flows = JSON.parse(json.stdout) as { http_host: string | null; http_path: string | null; connect_host: string | null; dns_name: string | null; sni: string | null; process: { name: string } | null }[];
    const api = flows.find((f) => f.http_path !== null && f.connect_host === null)!;
    expect(api.http_host).toBe(asLatin1(FACTS.http_host).toLowerCase());
    expect(api.http_path).toBe(asLatin1(FACTS.http_path));
    expect(api.process?.name).toBe(FACTS.exe.slice(FACTS.exe.lastIndexOf('/') + 1));
    expect(flows.map((f) => f.connect_host)).toContain(FACTS.connect_host.toLowerCase());
    expect(flows.map((f) => f.dns_name)).toContain(FACTS.dns_name.toLowerCase());
    // The SNI is not an ASCII host name: the tool does not report it at all.
    expect(flows.map((f) => f.sni)).not.toContain(FACTS.sni.toLowerCase());
  });

  it('sessions, claims, exposure and verify --pcap show names and the file visibly', async () => {
    const runs = {
      sessions: await runCli('sessions', '--db', db),
      claims: await runCli('claims', '--db', db),
      exposure: await runCli('exposure', '--db', db, '--no-live'),
      verify: await runCli('verify', '--pcap', capture, '--db', db),
    };
    for (const [name, r] of Object.entries(runs)) {
      expect(UNSAFE.exec(r.stdout + r.stderr), name).toBeNull();
    }
    expectShownSafely('sessions', runs.sessions.stdout);
    expectShownSafely('claims', runs.claims.stdout);
    // The cause-and-effect chain quotes the request target as sent.
    expect(runs.claims.stdout).toContain('lo; oaes\\x1b[31mA');
    expect(runs.claims.stdout).toContain('GET /api/tags?\\x1b]0;PWN-PATH\\x07\\x7f`x|y`');
    // Stored traffic alone gives exposure addresses only (process names and OLLAMA_HOST come live from /proc).
    expectShownSafely('verify', runs.verify.stdout + runs.verify.stderr);
  });

  it('report.md wraps names in code spans and holds no control; report.html holds no ESC; report.json is exact', async () => {
    const out = join(dir, 'report');
    const r = await runCli('report', '--db', db, '--out', out);
    expect(r.code).toBe(0);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expectShownSafely('report.md', md);
    expectShownSafely('report.html', html);
    expect(readFileSync(join(out, 'report.html')).includes(0x1b)).toBe(false);
    // Every occurrence of the autolink-shaped names sits inside a code span (no GFM link is made there).
    for (const name of ['http://evil.example/x', 'www.evil.example/x']) {
      const lines = md.split('\n').filter((l) => l.includes(name));
      expect(lines.length, name).toBeGreaterThan(0);
      for (const line of lines) expect(outsideCodeSpans(line), line).not.toContain(name);
    }
    // A backtick and a pipe inside the request target neither end the span nor split the table cell.
    expect(md).toContain('`oaes\\x1b[31mA: Ethernet`');
    expect(md).toContain('`` /api/tags?\\x1b]0;PWN-PATH\\x07\\x7f`x\\|y` ``');
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { http: { path: string | null }[] };
    expect(json.http.map((h) => h.path)).toContain(asLatin1(FACTS.http_path));
  });
});

/** A DNS name as a query carries it: each label after its length byte, then the root. */
function dnsWireName(name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.from(l, 'utf8'));
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
}
