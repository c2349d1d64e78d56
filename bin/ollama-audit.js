#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the prepare script).
import { main } from '../dist/commands/cli.js';

// `ollama-audit flows | head`: when the reader of stdout goes away, stop writing to it quietly (as
// other Unix tools do) instead of dying with a stack trace; the command itself still finishes, so a
// store it writes to is closed cleanly.
process.stdout.on('error', (err) => {
  if (err && err.code === 'EPIPE') {
    process.stdout.write = () => true;
    return;
  }
  process.stderr.write(`ollama-audit: cannot write to standard output: ${err && err.message}\n`);
  process.exitCode = 2;
});

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`ollama-audit: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 2;
  },
);
