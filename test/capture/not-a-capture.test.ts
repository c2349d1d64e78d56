import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCaptureFile } from '../../src/capture/read-file.js';
import { CaptureFileError } from '../../src/capture/read-result.js';
import { itNeeding } from '../helpers/needs.js';
import { tmpDir } from './helpers.js';

const dir = tmpDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function errorFor(file: string): CaptureFileError {
  let packets = 0;
  try {
    readCaptureFile(file, () => packets++);
  } catch (err) {
    expect(err).toBeInstanceOf(CaptureFileError);
    expect(packets).toBe(0);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    expect(msg).toContain(file);
    return err as CaptureFileError;
  }
  throw new Error(`${file} was read as a capture`);
}

function write(name: string, bytes: Buffer | string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('files that are not captures', () => {
  it('a text file: names its first bytes and the accepted formats', () => {
    const e = errorFor(write('notes.txt', 'hello world, not packets\n'));
    expect(e.message).toMatch(/is not a capture file: it starts with 68 65 6c 6c 6f 20 77 6f \("hello wo"\)/);
    expect(e.message).toMatch(/pcap .*pcapng/);
  });

  it('a zip header', () => {
    const e = errorFor(write('x.zip', Buffer.from('504b0304140000000800', 'hex')));
    expect(e.message).toMatch(/starts with 50 4b 03 04 14 00 00 00 \("PK\.\.\.\.\.\."\)/);
  });

  it('an empty file', () => {
    expect(errorFor(write('empty.pcap', '')).message).toMatch(/is empty \(0 bytes\)/);
  });

  it('a file shorter than any magic number', () => {
    expect(errorFor(write('short.pcap', Buffer.from([0xd4, 0xc3]))).message).toMatch(/too short to be a capture file \(2 bytes: d4 c3\)/);
  });

  it('a directory', () => {
    expect(errorFor(dir).message).toMatch(/is a directory/);
  });

  it('a missing path', () => {
    expect(errorFor(path.join(dir, 'nope.pcap')).message).toMatch(/does not exist/);
  });

  // As root the built CLI is run as uid 65534 (setpriv) on a root-only file; otherwise the reader is called directly.
  const asRoot = process.getuid?.() === 0;
  itNeeding(asRoot ? ['dist', 'setpriv'] : [], 'an unreadable file (as root: the CLI run as uid 65534 on a root-only file)', () => {
    const file = write('secret.pcap', Buffer.from('d4c3b2a1', 'hex'));
    fs.chmodSync(file, 0);
    if (!asRoot) {
      expect(errorFor(file).message).toMatch(/permission denied/);
      return;
    }
    // Root reads anything, so drop to nobody: the built CLI must say what and exit 2.
    const root = path.resolve(import.meta.dirname, '../..');
    const cli = path.join(root, 'bin', 'ollama-audit.js');
    fs.chmodSync(dir, 0o755);
    const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oa-noperm-'));
    fs.chownSync(dbDir, 65534, 65534); // nobody's own private folder (a folder others can write is refused)
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli, 'import', file, '--db', path.join(dbDir, 'a.db')], { encoding: 'utf8', cwd: '/' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/secret\.pcap: .*permission denied/);
  });

  it('a pcap header cut short', () => {
    expect(errorFor(write('hdr.pcap', Buffer.from('d4c3b2a102000400', 'hex'))).message).toMatch(/truncated pcap file: its header needs 24 bytes, the file has 8/);
  });

  it('a pcap of an unsupported major version', () => {
    const hdr = Buffer.from('d4c3b2a1030004000000000000000000ffff000001000000', 'hex');
    expect(errorFor(write('v3.pcap', hdr)).message).toMatch(/pcap version 3\.4; only version 2\.x/);
  });

  it('a pcapng whose first section header has a bad byte-order magic', () => {
    const shb = Buffer.from('0a0d0d0a1c000000deadbeef01000000ffffffffffffffff1c000000', 'hex');
    expect(errorFor(write('bom.pcapng', shb)).message).toMatch(/not a usable pcapng file: corrupt section header at byte 0: byte-order magic is deadbeef/);
  });
});
