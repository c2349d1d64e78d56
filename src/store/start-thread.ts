import { Worker, type WorkerOptions } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Starts the worker thread whose module is `name` (e.g. './live-store-thread') beside `callerUrl`
 * (the caller's import.meta.url). Compiled (dist/): its .js file. Run from the TypeScript sources
 * (tests under vitest, which does not transform worker threads): its .ts file and what it imports,
 * bundled into one CommonJS script by esbuild (vite's, a development dependency) and run as such.
 */
export function startThread(callerUrl: string, name: string, options: WorkerOptions): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`${name}.js`, callerUrl), options);
  const esbuild = createRequire(callerUrl)('esbuild') as typeof import('esbuild');
  const entry = fileURLToPath(new URL(`${name}.ts`, callerUrl));
  const built = esbuild.buildSync({
    entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs',
    target: 'node20', write: false, external: ['better-sqlite3'], logLevel: 'silent',
    // A CommonJS bundle has no import.meta: the thread's createRequire(import.meta.url) resolves from its source file.
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
  });
  return new Worker(built.outputFiles[0].text, { ...options, eval: true });
}
