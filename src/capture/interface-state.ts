/**
 * Whether the interfaces of a live capture could carry packets: a capture that saw nothing on an
 * interface that is down proves nothing about silence. Read from sysfs (the capture's own
 * network namespace): up = the IFF_UP flag set and an operstate of `up` (or `unknown`, what
 * loopback and tunnels report).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ANY_DEVICE } from './link-types.js';

const IFF_UP = 0x1;
const SYS_NET = '/sys/class/net';

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** True when the named interface exists, is administratively up and has a link. */
export function interfaceIsUp(name: string, sysNet = SYS_NET): boolean {
  const flags = readText(join(sysNet, name, 'flags'));
  const state = readText(join(sysNet, name, 'operstate'));
  if (flags === null || state === null) return false;
  return (Number.parseInt(flags, 16) & IFF_UP) !== 0 && (state === 'up' || state === 'unknown');
}

/**
 * The captured interfaces that could not carry packets, as text for a message (`eth1 (down)`);
 * `any` counts as down only when no interface at all is up. Empty: every one could.
 */
export function interfacesDown(names: readonly string[], sysNet = SYS_NET): string[] {
  const out: string[] = [];
  for (const name of names) {
    if (name === ANY_DEVICE) {
      let all: string[] = [];
      try {
        all = readdirSync(sysNet);
      } catch {
        /* no sysfs: nothing is known to be up */
      }
      if (!all.some((n) => interfaceIsUp(n, sysNet))) out.push('any (no interface is up)');
    } else if (!interfaceIsUp(name, sysNet)) {
      out.push(`${name} (down)`);
    }
  }
  return out;
}
