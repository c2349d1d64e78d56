/**
 * The EnvironmentVariables of a launchd property list in XML (Homebrew's
 * ~/Library/LaunchAgents/homebrew.mxcl.ollama.plist, written by `brew services` from the formula's
 * `environment_variables`): where a Homebrew Ollama gets OLLAMA_HOST when a user exposes it.
 *
 * A small reader for the plist XML subset (Apple's PropertyList-1.0 DTD: dict, key, string,
 * array, integer, real, true, false, date, data), not a general XML parser: no external entities,
 * no DTD is read (the DOCTYPE is skipped), so a plist cannot make it fetch or expand anything.
 * Only the top-level dict's EnvironmentVariables dict is returned, and of it only string values
 * (launchd passes strings). Binary plists (bplist00) are refused with a message saying to convert.
 */

export class PlistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlistError';
  }
}

type Value = string | number | boolean | Value[] | Map<string, Value> | null;

const TOKEN = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)([A-Za-z]+)\s*[^>]*?(\/?)>|([^<]+)/g;

interface Token { close: boolean; tag: string; empty: boolean; text: string }

function tokens(xml: string): Token[] {
  const out: Token[] = [];
  for (const m of xml.matchAll(TOKEN)) {
    if (m[2] !== undefined) out.push({ close: m[1] === '/', tag: m[2], empty: m[3] === '/', text: '' });
    else if (m[4] !== undefined) out.push({ close: false, tag: '', empty: false, text: m[4] });
  }
  return out;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (all, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return ENTITIES[e] ?? all;
  });
}

/** Reads the plist's root value. Throws PlistError (one line) on anything else. */
export function parsePlist(xml: string): Value {
  if (xml.startsWith('bplist')) throw new PlistError('binary property list: convert it with `plutil -convert xml1 -o - FILE`');
  const t = tokens(xml);
  let i = 0;
  /** Whitespace between elements is layout, not data (inside <string> it is read by textUntil). */
  const skipWs = (): void => {
    while (t[i] !== undefined && t[i].tag === '' && t[i].text.trim() === '') i++;
  };
  const expect = (tag: string, close: boolean): void => {
    skipWs();
    const k = t[i++];
    if (k === undefined || k.tag !== tag || k.close !== close) throw new PlistError(`malformed property list: expected <${close ? '/' : ''}${tag}> at token ${i}`);
  };
  const textUntil = (tag: string): string => {
    let s = '';
    while (t[i] !== undefined && t[i].tag === '') s += t[i++].text;
    expect(tag, true);
    return decode(s);
  };
  const value = (): Value => {
    skipWs();
    const k = t[i++];
    if (k === undefined || k.close || k.tag === '') throw new PlistError(`malformed property list: expected a value at token ${i}`);
    if (k.empty) return k.tag === 'true' ? true : k.tag === 'false' ? false : k.tag === 'dict' ? new Map() : k.tag === 'array' ? [] : k.tag === 'string' ? '' : null;
    switch (k.tag) {
      case 'string': case 'date': case 'data': return textUntil(k.tag);
      case 'integer': case 'real': return Number(textUntil(k.tag).trim());
      case 'true': case 'false': expect(k.tag, true); return k.tag === 'true';
      case 'array': {
        const items: Value[] = [];
        while (skipWs(), t[i] !== undefined && !(t[i].close && t[i].tag === 'array')) items.push(value());
        expect('array', true);
        return items;
      }
      case 'dict': {
        const map = new Map<string, Value>();
        while (skipWs(), t[i] !== undefined && !(t[i].close && t[i].tag === 'dict')) {
          expect('key', false);
          const key = textUntil('key');
          map.set(key, value());
        }
        expect('dict', true);
        return map;
      }
      default: throw new PlistError(`malformed property list: unknown element <${k.tag}>`);
    }
  };
  expect('plist', false);
  const root = value();
  expect('plist', true);
  skipWs();
  if (i < t.length) throw new PlistError('malformed property list: content after </plist>');
  return root;
}

/** The string values of the top-level dict's EnvironmentVariables (empty when it has none). */
export function plistEnvironment(xml: string): Map<string, string> {
  const root = parsePlist(xml);
  const env = root instanceof Map ? root.get('EnvironmentVariables') : undefined;
  const out = new Map<string, string>();
  if (env instanceof Map) for (const [k, v] of env) if (typeof v === 'string') out.set(k, v);
  return out;
}
