/**
 * The numeric socket-key table (src/attribution/socket-key.ts) against a Map of the same keys as
 * strings: random sets, replaces and deletes (conditional too) in a small key space, so probe runs
 * collide, wrap around the end of the table and are shifted back on delete.
 */
import { describe, expect, it } from 'vitest';
import { newKey, socketKeyOf, SocketKeyTable } from '../../src/attribution/socket-key.js';
import { mulberry32, randomInt } from '../helpers/seeded-random.js';

describe('socket-key table', () => {
  it('answers as a Map does through 100,000 random sets, replaces and deletes', () => {
    const rand = mulberry32(0x9e3779b9);
    const next = () => randomInt(rand, 2 ** 32);
    const table = new SocketKeyTable<number>();
    const model = new Map<string, number>();
    const key = newKey();
    const addr = Buffer.alloc(4);
    const peer = Buffer.from([192, 0, 2, 2]);
    // Disagreements are counted, not expected one by one (100,000 expect() calls take seconds).
    const wrong: string[] = [];
    const same = (what: string, a: unknown, b: unknown): void => {
      if (a !== b && wrong.length < 5) wrong.push(`${what}: ${String(a)} vs ${String(b)}`);
    };
    for (let op = 0; op < 100_000; op++) {
      const r = next();
      // 3,000 distinct sockets: 10.0.x.y:port → 192.0.2.2:53, UDP or TCP.
      const id = r % 3000;
      addr.writeUInt32BE(((10 << 24) | (id >> 4)) >>> 0);
      const proto = id & 1 ? 6 : 17;
      socketKeyOf(key, proto, addr, 1024 + (id & 15), peer, 53);
      const name = `${proto}|${addr.toString('hex')}|${1024 + (id & 15)}`;
      const kind = (r >>> 16) % 10;
      if (kind < 5) {
        same(`set ${name}`, table.set(key, op), model.get(name));
        model.set(name, op);
      } else if (kind < 8) {
        same(`delete ${name}`, table.delete(key), model.delete(name));
      } else {
        // Conditional delete: only when the value is still this one.
        const v = model.get(name);
        const only = kind === 8 ? v : -1;
        const removed = table.delete(key, only);
        same(`delete ${name} if ${only}`, removed, v !== undefined && only === v);
        if (removed) model.delete(name);
      }
      same(`get ${name}`, table.get(key), model.get(name));
      same('size', table.size, model.size);
    }
    expect(wrong).toEqual([]);
    // Every key the model holds is found, with its value.
    for (let id = 0; id < 3000; id++) {
      addr.writeUInt32BE(((10 << 24) | (id >> 4)) >>> 0);
      const proto = id & 1 ? 6 : 17;
      const name = `${proto}|${addr.toString('hex')}|${1024 + (id & 15)}`;
      expect(table.get(socketKeyOf(key, proto, addr, 1024 + (id & 15), peer, 53))).toBe(model.get(name));
    }
  });

  it('keys an IPv4 address given as 4 bytes and as ::ffff:a.b.c.d alike, and IPv6 apart', () => {
    const table = new SocketKeyTable<string>();
    const key = newKey();
    const v4 = Buffer.from([127, 0, 0, 1]);
    const mapped = Buffer.from('00000000000000000000ffff7f000001', 'hex');
    const v6 = Buffer.from('00000000000000000000000000000001', 'hex');
    table.set(socketKeyOf(key, 17, v4, 5353, v4, 53), 'a');
    expect(table.get(socketKeyOf(key, 17, mapped, 5353, mapped, 53))).toBe('a');
    expect(table.get(socketKeyOf(key, 17, v6, 5353, v6, 53))).toBeUndefined();
    expect(table.get(socketKeyOf(key, 17, v4, 53, v4, 5353))).toBeUndefined(); // the other end
    expect(table.get(socketKeyOf(key, 6, v4, 5353, v4, 53))).toBeUndefined(); // the other protocol
  });
});
