import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';
import { parseDuration } from './parse-units.js';
import { EXIT_USAGE, isUserFacing } from '../errors.js';
import { ASSUME_FLAGS, DB_PATH_TEXT, DEFAULTS, settingsFromOptions } from '../settings.js';
import { visible } from '../text/visible.js';
import {
  KEEP_CMDLINE_HELP, newProgram, PLAIN_ACTIVITY_TEXT, activityName, addDaemonOptions, collect, collectAssume, collectInt, collectPort, dbOption, examples, maxFlowsOption, oneErrorLine, positiveInt, repeatable,
} from './cli-options.js';
import { addImportCommand } from './import-cli.js';
import { addDemoCommand } from './demo-cli.js';
import { addServiceCommand } from './service-cli.js';
import { addExportCommand } from './export-cli.js';
import { addWatchCommand } from './watch-cli.js';
import { addRollupsCommand } from './rollups-cli.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

// Each command's code is loaded when that command runs: startup stays small (an import of a big
// capture should not pay for the report writer, the claims engine or libpcap). So registrations take
// option values and defaults from settings.ts, never from a stage (test/commands/startup-modules.test.ts).

/** Entry point used by bin/ollama-audit.js. Returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = newProgram(pkg.version);

  addImportCommand(program, (c) => { code = c; });

  program.command('flows')
    .description('show the flow table from the store; STATE is Zeek\'s conn_state with its history letters (README: "Connection state")')
    .addOption(dbOption())
    .option('--json', 'print one JSON array of flows (stable field names, see README)')
    .option('--ollama', 'only flows that involve Ollama')
    .addOption(new Option('--activity <name>', `only this activity: ${PLAIN_ACTIVITY_TEXT}, or api:ROUTE (\`api\` also matches api:/api/pull) (default: all)`).argParser(activityName))
    .option('--session <id>', 'only flows of this import/capture session (default: all sessions)', positiveInt)
    .option('--limit <n>', 'at most n flows (default: 1000 in the table, which then says how many more; all with --json)', positiveInt)
    .addHelpText('after', examples('ollama-audit flows --ollama', 'ollama-audit flows --activity registry --json'))
    .action(async (opts) => { code = await (await import('./flows-command.js')).runFlows(opts); });

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
      code = (await import('./sessions-delete-command.js')).runDeleteSession(id, cmd.optsWithGlobals());
    });

  addDaemonOptions(program.command('daemon')
    .description('capture live into the store until SIGINT/SIGTERM (needs root or CAP_NET_RAW, and libpcap)'))
    .addHelpText('after', `${examples('sudo ollama-audit daemon', "sudo ollama-audit daemon -i eth0 -i lo --filter 'not port 22' --evidence head --max-evidence 2GiB --retain 7d")}\n\nExit 0; 2 on a usage or store error, or when the store's disk was full at some point (capture went on; the last line says how many flows were and were not stored, and when).`)
    .action(async (opts) => { code = await (await import('./daemon-command.js')).runDaemon(settingsFromOptions(opts)); });

  program.command('claims')
    .description('each claim with its verdict, evidence, coverage and cause-and-effect chains')
    .addOption(dbOption())
    .option('--json', 'machine output (fields in README)')
    .addOption(repeatable('--session <id>', 'judge only this session; repeatable', collectInt, 'all sessions'))
    .option('--claims-file <path>', 'more claims (JSON or YAML, see README)')
    .addOption(repeatable('--assume <flag>', `a setting the capture cannot show: ${ASSUME_FLAGS.join(', ')}; repeatable`, collectAssume))
    .addHelpText('after', examples('ollama-audit claims', 'ollama-audit claims --assume no-cloud --json'))
    .action(async (o) => { code = (await import('./claims-command.js')).runClaims(o); });

  program.command('verify')
    .description('air-gap check: exit 0 silent while Ollama ran, 1 traffic breaks the air-gap claims, 2 cannot tell (reason on stderr)')
    .addOption(dbOption(`with --pcap, --duration or --exercise a temporary store deleted at exit; otherwise ${DB_PATH_TEXT}`))
    .option('--pcap <file...>', 'import these captures (into --db, else a temporary store) and judge them')
    .addOption(repeatable('--allow <rule>', 'expected traffic (api:lan, host:10.0.0.0/8, host:*.example.com, activity:registry, port:53); repeatable', collect))
    .addOption(repeatable('--session <id>', 'with --db: judge only this session; repeatable', collectInt, 'all sessions'))
    .option('--claims-file <path>', 'more claims judged with the air-gap set')
    .addOption(repeatable('--assume <flag>', `a setting the capture cannot show: ${ASSUME_FLAGS.join(', ')}; repeatable`, collectAssume))
    .option('--duration <duration>', 'capture live this long (e.g. 10m), then judge that capture (root or CAP_NET_RAW)', parseDuration)
    .option('--exercise <command>', 'capture live while this shell command runs (plus --grace), then judge that window')
    .option('--grace <duration>', `with --exercise: keep capturing this long after the command ends (default ${DEFAULTS.exerciseGraceS}s)`, parseDuration)
    .addOption(repeatable('-i, --interface <name>', 'live: interface to capture on; repeatable', collect, DEFAULTS.interfaces.join(', ')))
    .option('--filter <bpf>', 'live: BPF capture filter')
    .option('--allow-idle', 'accept a check during which Ollama did not run (default: exit 2 when it did not)')
    .option('--keep-cmdline', `live: ${KEEP_CMDLINE_HELP}`)
    .option('--report <dir>', 'also write a report folder (report.md/html/json, evidence.pcapng, manifest.json)')
    .option('--json', 'machine output')
    .addHelpText('after', examples('ollama-audit verify --pcap capture.pcapng', "sudo ollama-audit verify --exercise 'ollama run llama3 hi' --report ./verify-report", 'sudo ollama-audit verify --duration 10m --allow activity:registry'))
    .action(async (o) => {
      const live = o.duration !== undefined || o.exercise !== undefined
        ? { duration: o.duration, exercise: o.exercise, grace: o.grace, interface: o.interface, filter: o.filter, keepCmdline: o.keepCmdline }
        : undefined;
      code = await (await import('./verify-command.js')).runVerifyOffline({ ...o, live });
    });

  program.command('report')
    .description('write report.md, report.html, report.json, evidence.pcapng and manifest.json for the stored sessions')
    .addOption(dbOption())
    .requiredOption('--out <dir>', 'report folder (created 0700)')
    .addOption(repeatable('--session <id>', 'only this session; repeatable', collectInt, 'all sessions'))
    .addOption(repeatable('--api-port <port>', `another API port whose bodies are cut from the evidence (${DEFAULTS.apiPort} always counts); repeatable`, collectPort))
    .option('--json', 'print what was written as JSON')
    .addHelpText('after', examples('ollama-audit report --out ./audit-report', 'ollama-audit report --db audit.db --out ./audit-report --session 2'))
    .action(async (o) => {
      const sessions = o.session.length ? o.session : undefined;
      const [{ runReport }, { claimsReport }, { reportInputFrom }, { auditExposure }] = await Promise.all([
        import('./report-command.js'), import('../claims/evaluate.js'), import('../report/from-claims.js'), import('../exposure/audit.js'),
      ]);
      // The default API port always counts: a given port adds to it (bodies on it are cut too), as in the daemon.
      code = runReport({ db: o.db, out: o.out, session: sessions, json: o.json, apiPorts: [DEFAULTS.apiPort, ...o.apiPort] }, {
        evaluate: (db) => reportInputFrom(claimsReport(db, { sessions })),
        exposure: (db) => auditExposure(db, { live: false, sessions }),
      });
    });

  program.command('exposure')
    .description('who can reach the Ollama API and who did: listeners and OLLAMA_HOST, clients by class, reverse proxies, the Host-header 403 trap; exit 0 clean, 1 a finding of severity medium or high, 2 cannot tell (reason on stderr)')
    .addOption(dbOption(`${DB_PATH_TEXT}, read when it exists`))
    .option('--json', 'print the exposure report as JSON')
    .addOption(repeatable('--session <id>', 'only this session; repeatable', collectInt, 'all sessions'))
    .addOption(repeatable('--api-port <port>', `another API port (${DEFAULTS.apiPort} always counts); repeatable`, collectPort))
    .option('--no-live', 'do not read what listens now (Linux: /proc: listeners, environment, running proxies; macOS: lsof, launchctl, the Homebrew plist) (default: read it on Linux and macOS)')
    .addHelpText('after', examples('sudo ollama-audit exposure', 'ollama-audit exposure --no-live --db audit.db --json'))
    .action(async (o) => { code = (await import('./exposure-command.js')).runExposure(o); });

  addDemoCommand(program, (c) => { code = c; });
  addServiceCommand(program, (c) => { code = c; });
  addExportCommand(program, (c) => { code = c; });
  addWatchCommand(program, (c) => { code = c; });
  addRollupsCommand(program, (c) => { code = c; });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (isUserFacing(err)) {
      process.stderr.write(`ollama-audit: ${visible(err.message)}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  return code;
}
