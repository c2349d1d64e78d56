#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the prepare script).
import { main } from '../dist/commands/cli.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`ollama-audit: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 2;
  },
);
