/**
 * The `/` filter: space-separated terms, all of which must match. `host:x` (name or address),
 * `proc:x` (process name or pid), `act:x` (activity), `port:n` (the far port); a bare word matches
 * any of them; a leading `!` negates a term. Matching is case-insensitive substring (port: exact).
 */
import type { WatchFlow } from './flow-state.js';

type Field = 'host' | 'proc' | 'act' | 'port' | 'word';

export interface FilterTerm {
  field: Field;
  value: string;
  negate: boolean;
}

const FIELDS = new Set<Field>(['host', 'proc', 'act', 'port']);

export function parseFilter(text: string): FilterTerm[] {
  return text.trim().split(/\s+/).filter((w) => w !== '' && w !== '!').map((word) => {
    const negate = word.startsWith('!');
    const body = negate ? word.slice(1) : word;
    const colon = body.indexOf(':');
    const field = colon > 0 ? body.slice(0, colon) as Field : 'word';
    if (colon > 0 && FIELDS.has(field)) return { field, value: body.slice(colon + 1).toLowerCase(), negate };
    return { field: 'word', value: body.toLowerCase(), negate };
  });
}

function has(text: string | null, value: string): boolean {
  return text !== null && text.toLowerCase().includes(value);
}

function termMatches(t: FilterTerm, f: WatchFlow): boolean {
  switch (t.field) {
    case 'host': return has(f.remote, t.value) || has(f.address, t.value);
    case 'proc': return has(f.proc, t.value) || String(f.pid) === t.value;
    case 'act': return has(f.activity, t.value);
    case 'port': return String(f.remotePort) === t.value;
    case 'word': return has(f.remote, t.value) || has(f.address, t.value) || has(f.proc, t.value) || has(f.activity, t.value);
  }
}

export function matchesFilter(terms: readonly FilterTerm[], f: WatchFlow): boolean {
  for (const t of terms) if (termMatches(t, f) === t.negate) return false;
  return true;
}
