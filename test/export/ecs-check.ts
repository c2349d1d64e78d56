/**
 * The ECS oracle of the export tests: ECS's own field list (fixtures/ecs/ecs-fields.tsv, generated
 * from the official ecs_flat.yml) and a check of one field's name and value against it.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { FIXTURES } from './helpers.js';

export interface EcsField { type: string; array: boolean; allowed: string[] }

export const ECS: Map<string, EcsField> = new Map(readFileSync(join(FIXTURES, 'ecs', 'ecs-fields.tsv'), 'utf8').trim().split('\n').map((line) => {
  const [name, type, array, allowed] = line.split('\t');
  return [name, { type, array: array === '1', allowed: allowed ? allowed.split(',') : [] }];
}));
export const CUSTOM = 'ollama_audit.';

export type Doc = Record<string, unknown>;

/** Leaf fields of a document by dotted name (arrays of scalars are one field's values). */
export function leaves(doc: Doc, prefix = ''): [string, unknown][] {
  return Object.entries(doc).flatMap(([k, v]): [string, unknown][] =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? leaves(v as Doc, `${prefix}${k}.`) : [[`${prefix}${k}`, v]]);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Does one JSON value fit an ECS type (Elasticsearch's mapping of it)? */
function fits(type: string, v: unknown): boolean {
  switch (type) {
    case 'keyword': case 'constant_keyword': case 'wildcard': case 'match_only_text': case 'text': return typeof v === 'string';
    case 'date': return typeof v === 'string' && ISO.test(v) && !Number.isNaN(Date.parse(v));
    case 'long': case 'unsigned_long': return Number.isSafeInteger(v);
    case 'integer': return Number.isSafeInteger(v) && Math.abs(v as number) < 2 ** 31;
    case 'float': case 'double': case 'scaled_float': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'ip': return typeof v === 'string' && isIP(v) !== 0;
    default: return false; // object, flattened, nested, geo_point: never written as a leaf here
  }
}

/** What is wrong with one field, or null. */
export function problem(name: string, value: unknown): string | null {
  if (name.startsWith(CUSTOM)) return null;
  const f = ECS.get(name);
  if (!f) return `${name}: not an ECS field`;
  if (f.array && !Array.isArray(value)) return `${name}: ECS makes it an array`;
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (!fits(f.type, v)) return `${name}: ${JSON.stringify(v)} is not an ECS ${f.type}`;
    if (f.allowed.length && !f.allowed.includes(v as string)) return `${name}: ${JSON.stringify(v)} is not one of ${f.allowed.join(', ')}`;
  }
  return null;
}

