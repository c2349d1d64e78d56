/**
 * Sockets by their ends without a string per lookup. Under a flood every new flow is looked up
 * several times (kernel events, connected and bound sockets, local addresses, late waiters); keys
 * made of hex strings cost a Buffer.toString, a concatenation and a string hash each time, and
 * their garbage (measured: ~15 % of the capture thread at 20,000 new flows/s with the GC).
 *
 * A key is KEY_WORDS 32-bit words written into a caller's Uint32Array: the protocol, both ports,
 * and both addresses in their 16-byte form (IPv4 as ::ffff:a.b.c.d, so an IPv4 flow and a
 * dual-stack socket carrying it have one key). A SocketKeyTable keeps the words of each key in
 * typed arrays (open addressing, linear probing): a lookup allocates nothing.
 */

/** protocol, ports (local << 16 | remote), local address (4 words), remote address (4 words). */
const KEY_WORDS = 10;

export function newKey(): Uint32Array {
  return new Uint32Array(KEY_WORDS);
}

/** The 16-byte form of a 4- or 16-byte address, as four big-endian words at key[at..at+3]. */
function putAddr(key: Uint32Array, at: number, addr: Uint8Array): void {
  if (addr.length === 4) {
    key[at] = 0;
    key[at + 1] = 0;
    key[at + 2] = 0xffff;
    key[at + 3] = word(addr, 0);
    return;
  }
  if (addr.length !== 16) throw new RangeError(`address length ${addr.length}: expected 4 or 16`);
  for (let i = 0; i < 4; i++) key[at + i] = word(addr, 4 * i);
}

function word(a: Uint8Array, o: number): number {
  return ((a[o]! << 24) | (a[o + 1]! << 16) | (a[o + 2]! << 8) | a[o + 3]!) >>> 0;
}

/** The key of one socket end talking to a peer: both ends, protocol and ports. */
export function socketKeyOf(key: Uint32Array, proto: number, local: Uint8Array, localPort: number,
  remote: Uint8Array, remotePort: number): Uint32Array {
  key[0] = proto;
  key[1] = ((localPort << 16) | remotePort) >>> 0;
  putAddr(key, 2, local);
  putAddr(key, 6, remote);
  return key;
}

/** The key of a socket bound to a local end (no peer: remote words and port 0). */
export function boundKeyOf(key: Uint32Array, proto: number, local: Uint8Array, localPort: number): Uint32Array {
  key[0] = proto;
  key[1] = (localPort << 16) >>> 0;
  putAddr(key, 2, local);
  key.fill(0, 6);
  return key;
}

/** The key of an address alone (a set of local addresses). */
export function addrKeyOf(key: Uint32Array, addr: Uint8Array): Uint32Array {
  key.fill(0);
  putAddr(key, 2, addr);
  return key;
}

/** key's local address is an IPv4 one (::ffff:a.b.c.d). */
export function localIsV4(key: Uint32Array): boolean {
  return key[2] === 0 && key[3] === 0 && key[4] === 0xffff;
}

/** Replaces key's local address by the IPv4 (0.0.0.0) or IPv6 (::) wildcard. */
export function setWildcardLocal(key: Uint32Array, v4: boolean): Uint32Array {
  key[2] = 0;
  key[3] = 0;
  key[4] = v4 ? 0xffff : 0;
  key[5] = 0;
  return key;
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** MurmurHash3's 32-bit mixing over the key's words. */
function hashOf(key: Uint32Array): number {
  let h = 0x2f0f3c1d;
  for (let i = 0; i < KEY_WORDS; i++) {
    let k = Math.imul(key[i]!, 0xcc9e2d51);
    k = Math.imul(rotl(k, 15), 0x1b873593);
    h = (Math.imul(rotl(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const MIN_CAPACITY = 16;

/** Keys (as above) to values; at most half full, so probes stay short. */
export class SocketKeyTable<V> {
  private capacity: number;
  private words: Uint32Array;
  private hashes: Uint32Array;
  private values: (V | undefined)[];
  private count = 0;

  constructor(expected = 0) {
    let cap = MIN_CAPACITY;
    while (cap < expected * 2) cap *= 2;
    this.capacity = cap;
    this.words = new Uint32Array(cap * KEY_WORDS);
    this.hashes = new Uint32Array(cap);
    this.values = new Array<V | undefined>(cap).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  get(key: Uint32Array): V | undefined {
    const slot = this.find(key, hashOf(key));
    return slot < 0 ? undefined : this.values[slot];
  }

  has(key: Uint32Array): boolean {
    return this.find(key, hashOf(key)) >= 0;
  }

  /** Sets the key's value; returns the value it replaced (undefined when the key was new). */
  set(key: Uint32Array, value: V): V | undefined {
    const h = hashOf(key);
    const found = this.find(key, h);
    if (found >= 0) {
      const old = this.values[found];
      this.values[found] = value;
      return old;
    }
    if ((this.count + 1) * 2 > this.capacity) this.grow();
    const mask = this.capacity - 1;
    let i = h & mask;
    while (this.values[i] !== undefined) i = (i + 1) & mask;
    this.put(i, key, h, value);
    this.count++;
    return undefined;
  }

  /** Removes the key when its value is `only` (when given); true when something was removed. */
  delete(key: Uint32Array, only?: V): boolean {
    const slot = this.find(key, hashOf(key));
    if (slot < 0 || (only !== undefined && this.values[slot] !== only)) return false;
    this.removeAt(slot);
    return true;
  }

  /** The slot holding this key, or -1. */
  private find(key: Uint32Array, h: number): number {
    const mask = this.capacity - 1;
    const { words, hashes, values } = this;
    for (let i = h & mask; values[i] !== undefined; i = (i + 1) & mask) {
      if (hashes[i] !== h) continue;
      const at = i * KEY_WORDS;
      let same = true;
      for (let w = 0; w < KEY_WORDS; w++) {
        if (words[at + w] !== key[w]) {
          same = false;
          break;
        }
      }
      if (same) return i;
    }
    return -1;
  }

  private put(slot: number, key: ArrayLike<number>, h: number, value: V): void {
    const at = slot * KEY_WORDS;
    for (let w = 0; w < KEY_WORDS; w++) this.words[at + w] = key[w]!;
    this.hashes[slot] = h;
    this.values[slot] = value;
  }

  /** Backward-shift deletion: later entries of the probe run move up, so no tombstones are needed. */
  private removeAt(slot: number): void {
    const mask = this.capacity - 1;
    const { words, hashes, values } = this;
    let hole = slot;
    for (let i = (slot + 1) & mask; values[i] !== undefined; i = (i + 1) & mask) {
      const home = hashes[i]! & mask;
      // The entry at i may fill the hole when its home is not in the cyclic range (hole, i].
      const inRange = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (inRange) continue;
      words.copyWithin(hole * KEY_WORDS, i * KEY_WORDS, (i + 1) * KEY_WORDS);
      hashes[hole] = hashes[i]!;
      values[hole] = values[i];
      hole = i;
    }
    values[hole] = undefined;
    this.count--;
  }

  private grow(): void {
    const { words, hashes, values, capacity } = this;
    this.capacity = capacity * 2;
    this.words = new Uint32Array(this.capacity * KEY_WORDS);
    this.hashes = new Uint32Array(this.capacity);
    this.values = new Array<V | undefined>(this.capacity).fill(undefined);
    const mask = this.capacity - 1;
    for (let s = 0; s < capacity; s++) {
      const v = values[s];
      if (v === undefined) continue;
      let i = hashes[s]! & mask;
      while (this.values[i] !== undefined) i = (i + 1) & mask;
      this.put(i, words.subarray(s * KEY_WORDS, (s + 1) * KEY_WORDS), hashes[s]!, v);
    }
  }
}
