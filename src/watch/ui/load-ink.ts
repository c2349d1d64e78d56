/**
 * ink for the dashboard, loaded without es-toolkit's `compat` barrel. ink 6.8's ink.js takes one
 * function from it (`import { throttle } from 'es-toolkit/compat'`), and that index loads all of
 * es-toolkit's lodash-compatible functions: 415 modules, ~10 MB of the UI thread's resident memory
 * (measured: native-notes/ink.md). es-toolkit publishes each function as its own module too
 * (`es-toolkit/compat/throttle`: the same function, re-exported from the same file).
 *
 * No option, resolve setting or package.json field of ours changes what ink's own import resolves
 * to (Node 20 runs resolve hooks on a thread of their own, which costs what the barrel does), so
 * the three ink modules on the way to that line (index.js → render.js → ink.js) are given to Node
 * again as data: modules with that line naming the function's own module, and every other import
 * naming the file ink's would resolve to. Everything else ink has (components, hooks, the
 * reconciler, output.js) is ink's own files, one copy of each, shared with anything that imports
 * 'ink' itself (tests with ink-testing-library).
 *
 * Only over the ink this was written against (6.8.x) and only when the lines are exactly the ones
 * expected and ink's dependencies resolve from here to the files they resolve to from ink (no copy
 * nested under ink/node_modules): otherwise plain `import('ink')`, barrel and all.
 * test/watch/dashboard-memory.test.ts fails when the dashboard loads the barrel again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Ink = typeof import('ink');

/** ink.js's one use of es-toolkit, and the same function from its own module. */
const BARREL_IMPORT = "import { throttle } from 'es-toolkit/compat';";
const OWN_MODULE = 'es-toolkit/compat/throttle';
/** From ink's index to ink.js: the modules given again (each imports the next). */
const CHAIN = ['index.js', 'render.js', 'ink.js'];
/** An import or re-export line's specifier (ink's build has one statement per line). */
const IMPORT_LINE = /^((?:import|export)\s[^'"\n]*?from\s+|import\s+)'([^']+)';$/gm;

/** An import left naming a package or a relative path. */
const UNRESOLVED = /(?:\bfrom\s+|^import\s+)'(?!node:|file:|data:)/m;

const dataUrl = (text: string) => `data:text/javascript;base64,${Buffer.from(text).toString('base64')}`;

/** The package name of a bare specifier ('react-reconciler/constants.js' → 'react-reconciler'). */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * What ink's `spec` resolves to, resolved from here, or null when that might not be ink's own: a
 * copy nested in ink's node_modules, or a file outside the node_modules that holds ink.
 */
function asInkResolves(spec: string, inkDir: string): string | null {
  if (existsSync(join(inkDir, 'node_modules', packageOf(spec)))) return null;
  let url: string;
  try {
    url = import.meta.resolve(spec);
  } catch {
    return null;
  }
  return fileURLToPath(url).startsWith(join(dirname(inkDir), packageOf(spec)) + sep) ? url : null;
}

/** `file` of ink's build with each import made absolute (the chain's next module given as `next`), or null. */
function rewritten(build: string, file: string, next: string | null): string | null {
  let text = readFileSync(join(build, file), 'utf8');
  if (file === 'ink.js') {
    if (text.split(BARREL_IMPORT).length !== 2 || text.split('es-toolkit').length !== 2) return null;
    text = text.replace(BARREL_IMPORT, `import throttle from '${OWN_MODULE}';`);
  }
  let failed = false;
  text = text.replace(IMPORT_LINE, (line, head: string, spec: string) => {
    if (spec.startsWith('node:')) return line;
    let url: string | null;
    if (spec.startsWith('./')) url = next !== null && spec === `./${CHAIN[CHAIN.indexOf(file) + 1]}` ? next : pathToFileURL(join(build, spec)).href;
    else url = asInkResolves(spec, dirname(build));
    if (url === null) failed = true;
    return `${head}'${url}';`;
  });
  // Every import now names a file, a data: module or a builtin (a statement over several lines would not).
  return failed || UNRESOLVED.test(text) ? null : text;
}

/** ink's index as data: modules without the barrel, or null when this ink is not the one expected. */
function inkWithoutBarrel(): string | null {
  const main = createRequire(import.meta.url).resolve('ink');
  const build = dirname(main);
  const version = (JSON.parse(readFileSync(join(build, '..', 'package.json'), 'utf8')) as { version: string }).version;
  if (!/^6\.8\./.test(version)) return null;
  let next: string | null = null;
  for (const file of [...CHAIN].reverse()) {
    const text = rewritten(build, file, next);
    if (text === null) return null;
    next = dataUrl(text);
  }
  return next;
}

const index = inkWithoutBarrel();

/** ink, as the dashboard uses it (render, components, hooks). */
export const ink: Ink = index !== null ? ((await import(index)) as Ink) : await import('ink');
