import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createRequire } from 'node:module';
import { parseDuration, parseSize } from './parse-units.js';
import { EXIT_USAGE, isUserFacing } from './user-error.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

// Each command's code is loaded when that command runs: startup stays small (an import of a big
// capture should not pay for the report writer, the claims engine or libpcap).

/** Entry point used by bin/ollama-audit.js. Returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('ollama-audit')
    .description('Audit what Ollama (and everything else on this host) sends over the network.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const dbOption = () => new Option('--db <path>', 'SQLite store (default: $OLLAMA_AUDIT_DB or $XDG_DATA_HOME/ollama-audit/audit.db)');

  program.command('import')
    .description('read pcap/pcapng files into the store')
    .argument('<file...>', 'capture files (classic pcap or pcapng)')
    .addOption(dbOption())
    .option('--json', 'print one JSON array of import summaries')
    .option('--again', 'import a file even if the store already holds one with the same bytes (SHA-256); without it such a file is refused, exit 2')
    .action(async (files: string[], opts) => { code = await (await import('./import-command.js')).runImport(files, opts); });

  program.command('flows')
    .description('show the flow table from the store')
    .addOption(dbOption())
    .option('--json', 'print one JSON array of flows (stable field names, see README)')
    .option('--ollama', 'only flows that involve Ollama')
    .option('--activity <name>', 'only this activity (e.g. registry, blob-download, api; `api` also matches api:/api/pull)')
    .option('--session <id>', 'only flows of this import/capture session', positiveInt)
    .option('--limit <n>', 'at most n flows', positiveInt)
    .action(async (opts) => { code = (await import('./flows-command.js')).runFlows(opts); });

  const sessions = program.command('sessions')
    .description('list the import/capture sessions in the store: window, packets, flows, Ollama flows, coverage')
    .addOption(dbOption())
    .option('--json', 'print one JSON array of sessions (fields in README)')
    .addHelpText('after', '\nExamples:\n  ollama-audit sessions --db audit.db\n  ollama-audit sessions delete 3 --db audit.db')
    .action(async (o) => { code = (await import('./sessions-command.js')).runSessions(o); });
  sessions.command('delete')
    .description('delete one session: its flows, DNS, HTTP, processes and evidence rows (one transaction), then its evidence files')
    .argument('<id>', 'session id (see `ollama-audit sessions`)', positiveInt)
    .option('--force', 'also delete a live session that never ended (only when no daemon is writing it any more)')
    .configureHelp({ showGlobalOptions: true }) // --db and --json belong to `sessions` and apply here
    .action(async (id: number, _o, cmd: Command) => {
      code = (await import('./sessions-command.js')).runDeleteSession(id, cmd.optsWithGlobals());
    });

  program.command('daemon')
    .description('capture live into the store until SIGINT/SIGTERM (needs root or CAP_NET_RAW, and libpcap)')
    .addOption(dbOption())
    .addOption(repeatable('-i, --interface <name>', 'interface to capture on; repeat for several', collect, 'any'))
    .option('--filter <bpf>', 'BPF capture filter, e.g. "not port 22"')
    .addOption(new Option('--evidence <policy>', 'packets kept as evidence: full, head (first 16 KiB of each direction, then headers), or none').choices(['full', 'head', 'none']).default('head'))
    .option('--evidence-dir <dir>', 'where evidence pcapng segments go (default: a folder named after the database beside it, audit.db -> audit.evidence/)')
    .option('--max-evidence <size>', 'total evidence size kept, oldest segments deleted first (e.g. 2GiB)', parseSize)
    .option('--retain <duration>', 'delete evidence segments older than this (e.g. 7d)', parseDuration)
    .addOption(repeatable('--process <name>', 'also treat processes with this name as Ollama; repeatable', collect))
    .addOption(repeatable('--pid <n>', 'also treat this pid (and its children) as Ollama; repeatable', collectInt))
    .addOption(repeatable('--api-port <port>', 'another port the Ollama API listens on (11434 always counts); repeatable', collectInt))
    .option('--duration <duration>', 'stop after this long (e.g. 10m) instead of waiting for a signal', parseDuration)
    .action(async (opts) => { code = await (await import('./daemon-command.js')).runDaemon({ ...opts, apiPort: [11434, ...opts.apiPort] }); });

  program.command('claims')
    .description('each claim with its verdict, evidence, coverage and cause-and-effect chains')
    .addOption(dbOption())
    .option('--json', 'machine output (fields in README)')
    .addOption(repeatable('--session <id>', 'judge only this session; repeatable', collectInt))
    .option('--claims-file <path>', 'more claims (JSON or YAML, see README)')
    .addOption(repeatable('--assume <flag>', 'a setting the capture cannot show: no-cloud, https-proxy; repeatable', collect))
    .action(async (o) => { code = (await import('./claims-command.js')).runClaims(o); });

  program.command('verify')
    .description('air-gap check: exit 0 silent, 1 traffic breaks the air-gap claims, 2 cannot tell')
    .addOption(dbOption())
    .option('--pcap <file...>', 'import these captures (into --db, else a temporary store) and judge them')
    .addOption(repeatable('--allow <rule>', 'expected traffic (api:lan, host:10.0.0.0/8, host:*.example.com, activity:registry, port:53); repeatable', collect))
    .addOption(repeatable('--session <id>', 'with --db: judge only this session; repeatable', collectInt))
    .option('--claims-file <path>', 'more claims judged with the air-gap set')
    .addOption(repeatable('--assume <flag>', 'no-cloud | https-proxy; repeatable', collect))
    .option('--duration <duration>', 'capture live this long (e.g. 10m), then judge that capture (root or CAP_NET_RAW)', parseDuration)
    .option('--exercise <command>', 'capture live while this shell command runs (plus --grace), then judge that window')
    .option('--grace <duration>', 'with --exercise: keep capturing this long after the command ends (default 5s)', parseDuration)
    .addOption(repeatable('-i, --interface <name>', 'live: interface to capture on; repeatable', collect, 'any'))
    .option('--filter <bpf>', 'live: BPF capture filter')
    .option('--report <dir>', 'also write a report folder (report.md/html/json, evidence.pcapng, manifest.json)')
    .option('--json', 'machine output')
    .action(async (o) => {
      const live = o.duration !== undefined || o.exercise !== undefined
        ? { duration: o.duration, exercise: o.exercise, grace: o.grace, interface: o.interface, filter: o.filter }
        : undefined;
      code = await (await import('./verify-command.js')).runVerifyOffline({ ...o, live });
    });

  program.command('report')
    .description('write report.md, report.html, report.json, evidence.pcapng and manifest.json for the stored sessions')
    .addOption(dbOption())
    .requiredOption('--out <dir>', 'report folder (created 0700)')
    .addOption(repeatable('--session <id>', 'only this session; repeatable', collectInt))
    .addOption(repeatable('--api-port <port>', 'another API port whose bodies are cut from the evidence; repeatable', collectInt))
    .option('--json', 'print what was written as JSON')
    .action(async (o) => {
      const sessions = o.session.length ? o.session : undefined;
      const [{ runReport }, { claimsReport }, { reportInputFrom }, { auditExposure }] = await Promise.all([
        import('./report-command.js'), import('../claims/evaluate.js'), import('../report/from-claims.js'), import('../exposure/audit.js'),
      ]);
      code = runReport({ db: o.db, out: o.out, session: sessions, json: o.json, apiPorts: o.apiPort }, {
        evaluate: (db) => reportInputFrom(claimsReport(db, { sessions })),
        exposure: (db) => auditExposure(db, { live: false, sessions }),
      });
    });

  program.command('exposure')
    .description('who can reach the Ollama API and who did: listeners and OLLAMA_HOST, clients by class, reverse proxies, the Host-header 403 trap')
    .addOption(dbOption())
    .option('--json', 'print the exposure report as JSON')
    .addOption(repeatable('--session <id>', 'only this session; repeatable', collectInt))
    .addOption(repeatable('--api-port <port>', 'another API port; repeatable', collectInt))
    .option('--no-live', 'do not read /proc (listeners, environment, running proxies)')
    .action(async (o) => { code = (await import('./exposure-command.js')).runExposure(o); });

  program.command('demo')
    .description('run the whole pipeline on the bundled capture of a real (simulated) model pull; needs no privileges')
    .addOption(dbOption().default(undefined, 'a temporary database'))
    .option('--json', 'print the demo flows as JSON')
    .action(async (opts) => { code = await (await import('./demo-command.js')).runDemo(opts); });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (isUserFacing(err)) {
      process.stderr.write(`ollama-audit: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  return code;
}

/** A repeatable option gathering its values in a list; help shows `shown` (or nothing) as the default, not `[]`. */
function repeatable<T>(flags: string, description: string, parse: (value: string, previous: T[]) => T[], shown?: string): Option {
  const o = new Option(flags, description).argParser(parse);
  return shown === undefined ? o.default([], 'none') : o.default([], shown);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function collectInt(value: string, previous: number[]): number[] {
  return [...previous, positiveInt(value)];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}
