// Patches the optional `cap` 0.2.1 addon (node_modules/cap/src/binding.cc) and rebuilds it, so that
// live capture can choose its snapshot length and its ring, and learn each packet's original length
// and kernel timestamp (native-notes/cap.md "The ring's frames", "The ring's blocks"). Run by the
// package's `install` script after npm has installed and built the dependencies (npm runs the
// root's install script last), and by `npm run build:native`. Idempotent, edit by edit: an edit
// whose result is already in the source is not made again (so a source that carries level 1's
// edits gets level 2's only), and a build that already carries this level is not rebuilt.
//
// Edits, each found by its exact text (cap is pinned by package-lock.json; another version
// is left alone with one line saying so). Level 1:
//   1. open(device, filter, bufSize, buffer[, snaplen]): an optional 5th argument replaces the
//      hard-coded snaplen 65535. libpcap sizes TPACKET_V2 ring frames by it: 65535 made one
//      64 KiB frame per 128 KiB block on `any`, lo and interfaces with offloads.
//   2. the 'packet' event gets pkt_hdr->len (the packet's length on the wire) as a third argument,
//      so a packet the snaplen cut keeps its true length (evidence files record it).
//   3. the module exports `snaplenPatch`, which tells the JS side which edits are there.
//   4. one poll callback reads at most POLL_BUDGET packets, then returns to the event loop (timers,
//      the store thread's answers) while the ring holds the rest: the fd stays readable, and libuv
//      (level-triggered) calls back on its next turn. cap read until the ring was empty, which a
//      ring that holds thousands of packets under a flood never is.
// Level 2 (snaplenPatch: 2):
//   5. open(..., snaplen, bufferTimeoutMs): a 6th argument > 0 is libpcap's buffer timeout, and
//      immediate mode stays off, so libpcap makes a TPACKET_V3 ring: packets back to back in
//      256 KiB blocks (a SYN takes ~150 bytes, not a 4 KiB frame), each block handed over when it
//      is full or at the next tick of a `bufferTimeoutMs` timer (tp_retire_blk_tov). Without it, as before
//      (1000 ms, immediate mode when libpcap.so is found: TPACKET_V2).
//   6. with a buffer timeout the filter is always compiled (an empty one is "accept"): with
//      TPACKET_V3 only a socket filter's return value cuts a packet at the snaplen in the kernel,
//      without one whole packets (64 KiB on lo) would fill the blocks.
//   7. the 'packet' event gets the kernel's timestamp (pkt_hdr->ts: seconds and microseconds, two
//      small integers) as 4th and 5th arguments: a V3 block reaches JS up to the timeout after its
//      first packet, so an arrival stamp would be that late.
//   8. the marker export says 2.
// Without `cap` (not installed, or no libpcap headers) this prints nothing and exits 0: cap is optional.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const MARK = '/* ollama-audit snaplen patch 1 */';
const MARK2 = '/* ollama-audit buffer timeout patch 2 */';
/** The level the edits below make; `require('cap').snaplenPatch` says it once built. */
const LEVEL = 2;

/** In order; `level` is the snaplenPatch level that brought the edit, `done` a text only its result has. */
export const EDITS = [
  {
    what: 'snaplen argument',
    level: 1,
    done: MARK,
    from: `      // 64KB is the max IPv4 packet size
      if (pcap_set_snaplen(obj->pcap_handle, 65535) != 0)`,
    to: `      // 64KB is the max IPv4 packet size
      ${MARK}
      int snaplen = 65535;
      if (info.Length() > 4 && info[4]->IsUint32())
        snaplen = Nan::To<int32_t>(info[4]).FromJust();
      if (pcap_set_snaplen(obj->pcap_handle, snaplen) != 0)`,
  },
  {
    what: 'original length',
    level: 1,
    done: 'Nan::New<Number>(pkt_hdr->len)',
    from: `      Local<Value> emit_argv[3] = {
        Nan::New<String>(packet_symbol),
        Nan::New<Number>(copy_len),
        Nan::New<Boolean>(truncated)
      };
      obj->async_res.runInAsyncScope(
        Nan::New<Object>(obj->persistent()),
        Nan::New<Function>(obj->Emit),
        3,`,
    to: `      Local<Value> emit_argv[4] = {
        Nan::New<String>(packet_symbol),
        Nan::New<Number>(copy_len),
        Nan::New<Boolean>(truncated),
        Nan::New<Number>(pkt_hdr->len)
      };
      obj->async_res.runInAsyncScope(
        Nan::New<Object>(obj->persistent()),
        Nan::New<Function>(obj->Emit),
        4,`,
  },
  {
    what: 'poll budget',
    level: 1,
    done: 'int budget = 1024;',
    from: `        obj->handling_packets = true;

        do {
          packet_count = pcap_dispatch(obj->pcap_handle,
                                       1,
                                       Pcap::EmitPacket,
                                       (u_char*)obj);
        } while (packet_count > 0 && !obj->closing);`,
    to: `        obj->handling_packets = true;
        int budget = 1024; // ollama-audit: the rest waits in the ring for the loop's next turn

        do {
          packet_count = pcap_dispatch(obj->pcap_handle,
                                       1,
                                       Pcap::EmitPacket,
                                       (u_char*)obj);
        } while (packet_count > 0 && !obj->closing && --budget > 0);`,
  },
  {
    what: 'marker export',
    level: 1,
    done: '"snaplenPatch"',
    from: `      Nan::Set(target,
               Nan::New<String>("Cap").ToLocalChecked(),
               Nan::GetFunction(tpl).ToLocalChecked()).FromJust();`,
    to: `      Nan::Set(target,
               Nan::New<String>("Cap").ToLocalChecked(),
               Nan::GetFunction(tpl).ToLocalChecked()).FromJust();
      Nan::Set(target,
               Nan::New<String>("snaplenPatch").ToLocalChecked(),
               Nan::New<Number>(1)).FromJust();`,
  },
  {
    what: 'buffer timeout argument',
    level: 2,
    done: MARK2,
    from: `      // Set "timeout" on read, even though we are also setting nonblock below.
      // On Linux this is required.
      if (pcap_set_timeout(obj->pcap_handle, 1000) != 0)
        return Nan::ThrowError("Unable to set read timeout");

#if __linux__
      if (set_immediate_mode != nullptr)
        set_immediate_mode(obj->pcap_handle, 1);
#endif`,
    to: `      // Set "timeout" on read, even though we are also setting nonblock below.
      // On Linux this is required.
      ${MARK2}
      // A 6th argument > 0: libpcap's buffer timeout (ms), immediate mode off: a TPACKET_V3 ring
      // whose blocks the kernel hands over when full or at the next tick of a timer of that period.
      int buffer_timeout = 0;
      if (info.Length() > 5 && info[5]->IsUint32())
        buffer_timeout = Nan::To<int32_t>(info[5]).FromJust();
      if (pcap_set_timeout(obj->pcap_handle, buffer_timeout > 0 ? buffer_timeout : 1000) != 0)
        return Nan::ThrowError("Unable to set read timeout");

#if __linux__
      if (set_immediate_mode != nullptr && buffer_timeout <= 0)
        set_immediate_mode(obj->pcap_handle, 1);
#endif`,
  },
  {
    what: 'filter always with a buffer timeout',
    level: 2,
    done: 'filter.length() != 0 || buffer_timeout > 0',
    from: `      if (filter.length() != 0) {
        if (pcap_compile(obj->pcap_handle, &fp, (char*)*filter, 1, net) == -1)`,
    to: `      // TPACKET_V3 cuts a packet at the snaplen only by a socket filter's return value: compile
      // one (an empty filter accepts everything) so that whole 64 KiB packets do not fill the blocks.
      if (filter.length() != 0 || buffer_timeout > 0) {
        if (pcap_compile(obj->pcap_handle, &fp, (char*)*filter, 1, net) == -1)`,
  },
  {
    what: 'kernel timestamp',
    level: 2,
    done: 'pkt_hdr->ts.tv_sec',
    from: `      Local<Value> emit_argv[4] = {
        Nan::New<String>(packet_symbol),
        Nan::New<Number>(copy_len),
        Nan::New<Boolean>(truncated),
        Nan::New<Number>(pkt_hdr->len)
      };
      obj->async_res.runInAsyncScope(
        Nan::New<Object>(obj->persistent()),
        Nan::New<Function>(obj->Emit),
        4,`,
    to: `      // The kernel's time stamp as two small integers (no heap number per packet).
      Local<Value> emit_argv[6] = {
        Nan::New<String>(packet_symbol),
        Nan::New<Number>(copy_len),
        Nan::New<Boolean>(truncated),
        Nan::New<Number>(pkt_hdr->len),
        Nan::New<Number>((double)pkt_hdr->ts.tv_sec),
        Nan::New<Number>((double)pkt_hdr->ts.tv_usec)
      };
      obj->async_res.runInAsyncScope(
        Nan::New<Object>(obj->persistent()),
        Nan::New<Function>(obj->Emit),
        6,`,
  },
  {
    what: 'marker level 2',
    level: 2,
    done: '"snaplenPatch").ToLocalChecked(),\n               Nan::New<Number>(2)',
    from: `               Nan::New<String>("snaplenPatch").ToLocalChecked(),
               Nan::New<Number>(1)).FromJust();`,
    to: `               Nan::New<String>("snaplenPatch").ToLocalChecked(),
               Nan::New<Number>(2)).FromJust();`,
  },
];

function say(line) {
  console.log(`ollama-audit: ${line}`);
}

function capDir() {
  try {
    return dirname(require.resolve('cap/package.json'));
  } catch {
    return null;
  }
}

/**
 * Makes the edits not yet in the source text, in order (a later edit may be found in an earlier
 * one's result). `text` null (with a reason) when an edit to make is not found exactly once;
 * `made` counts the edits made (0: the source already carries them all).
 */
export function patched(text) {
  let out = text;
  let made = 0;
  for (const e of EDITS) {
    if (out.includes(e.done)) continue;
    const at = out.indexOf(e.from);
    if (at < 0 || out.indexOf(e.from, at + 1) >= 0) return { text: null, made, why: `cap's binding.cc has no single "${e.what}" spot` };
    out = out.slice(0, at) + e.to + out.slice(at + e.from.length);
    made++;
  }
  return { text: out, made, why: '' };
}

/** True when the built addon carries the patch (loaded in a child: a failed load must not end this script). */
function builtWithPatch(dir) {
  const r = spawnSync(process.execPath, ['-e', `process.exit(require(${JSON.stringify(dir)}).snaplenPatch === ${LEVEL} ? 0 : 1)`], { stdio: 'ignore' });
  return r.status === 0;
}

function main() {
  const dir = capDir();
  if (dir === null) return 0; // cap is optional and not installed: nothing to patch
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  const src = join(dir, 'src', 'binding.cc');
  const text = readFileSync(src, 'utf8');
  const p = patched(text);
  if (p.text === null || (p.made > 0 && version !== '0.2.1')) {
    const why = version !== '0.2.1' ? `cap ${version} is not the 0.2.1 this patch is for` : p.why;
    say(`${why}: cap left as it is (live capture says at start what the build lacks)`);
    return 0;
  }
  const edited = p.made > 0;
  if (edited) writeFileSync(src, p.text);
  const addon = join(dir, 'build', 'Release', 'cap.node');
  // cap did not build (npm said why: no libpcap headers, most often): its source is patched, so the
  // README's later `npm rebuild cap` builds it with the patch.
  if (!existsSync(addon)) return 0;
  if (!edited && builtWithPatch(dir)) return 0;
  // node-gyp rebuild starts by deleting build/: keep the unpatched addon to put back on failure
  // (live capture with 64 KiB frames is better than none).
  const kept = readFileSync(addon);
  // Inside npm scripts npm names its own node-gyp (npm_config_node_gyp), the one that built cap;
  // run by hand, npm's copy beside this node, else one on PATH.
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const gyp = process.env.npm_config_node_gyp ?? (existsSync(bundled) ? bundled : null);
  const cmd = gyp ? [process.execPath, gyp] : ['node-gyp'];
  // Node's own headers when they are installed beside it (npm passes its nodedir setting itself).
  const prefix = join(dirname(process.execPath), '..');
  const nodedir = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node.h')) ? [`--nodedir=${prefix}`] : [];
  const r = spawnSync(cmd[0], [...cmd.slice(1), 'rebuild', ...nodedir, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0 || !builtWithPatch(dir)) {
    // Whatever the failed rebuild left (nothing, or an addon that does not load): the old one back.
    mkdirSync(dirname(addon), { recursive: true });
    writeFileSync(addon, kept);
    const detail = (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-1)[0];
    say(`cap could not be rebuilt with native/cap-patch (${detail || `exit ${r.status}`}): live capture needs libpcap-dev, python3, make and g++; retry with npm run build:native`);
    return 0;
  }
  say(`cap rebuilt with native/cap-patch level ${LEVEL} (native-notes/cap.md)`);
  return 0;
}

// Run as a script (npm's install, build:native); imported (the tests), it only exports.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
