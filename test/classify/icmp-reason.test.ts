/**
 * ICMP and ICMPv6 flows of a real capture (the demo: ping, ping -6, and the kernel's own
 * neighbor solicitation and MLDv2 reports on a new veth) get a reason that names the message
 * type, never a "port". The type names are checked against tshark's dissector, not our table.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, expect, it } from 'vitest';
import { analyzeCaptureFile } from '../../src/pipeline/analyze.js';
import { describeNeeding } from '../helpers/needs.js';
import { DEMO } from '../report/helpers.js';
import type { Flow } from '../../src/flows/flow.js';

/** type number -> tshark's words for it ("Neighbor Solicitation"), per ICMP family. */
function tsharkTypeNames(file: string): Map<string, string> {
  const pdml = execFileSync('tshark', ['-n', '-r', file, '-Y', 'icmp || icmpv6', '-T', 'pdml'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const names = new Map<string, string>();
  for (const m of pdml.matchAll(/name="(icmp|icmpv6)\.type" showname="Type: ([^"]*)"/g)) {
    // icmp: "8 (Echo (ping) request)"; icmpv6: "Neighbor Solicitation (135)".
    const v4 = /^(\d+) \((.*)\)$/.exec(m[2]);
    const v6 = /^(.*) \((\d+)\)$/.exec(m[2]);
    if (m[1] === 'icmp' && v4) names.set(`icmp/${v4[1]}`, v4[2]);
    else if (m[1] === 'icmpv6' && v6) names.set(`icmpv6/${v6[2]}`, v6[1]);
  }
  return names;
}

/** tshark's name minus what is decoration there ("(ping)", "Message"), as lower-case words. */
function keyWords(tsharkName: string): string[] {
  return tsharkName.replace(/\([^)]*\)/g, ' ').toLowerCase().split(/\s+/).filter((w) => w !== '' && w !== 'message');
}

describeNeeding(['tshark'], 'ICMP flows are explained by message type', () => {
  let a: ReturnType<typeof analyzeCaptureFile>;
  let icmp: Flow[];
  let names: Map<string, string>;
  beforeAll(() => {
    a = analyzeCaptureFile(DEMO);
    icmp = a.flows.filter((f) => f.proto === 1 || f.proto === 58);
    names = tsharkTypeNames(DEMO);
  });

  it('finds the ICMP and ICMPv6 flows tshark sees (echo both ways, neighbor solicitation, MLDv2 reports)', () => {
    expect(icmp.length).toBeGreaterThanOrEqual(4);
    expect([...names.keys()].sort()).toEqual(['icmp/0', 'icmp/8', 'icmpv6/128', 'icmpv6/129', 'icmpv6/135', 'icmpv6/143']);
  });

  it("names each flow's initiating message type as tshark does, with its number, and never speaks of ports", () => {
    for (const f of icmp) {
      const family = f.proto === 58 ? 'icmpv6' : 'icmp';
      const reason = a.classifications.get(f.id)!.reason;
      const tsharkName = names.get(`${family}/${f.initiatorPort}`);
      expect(tsharkName, `tshark saw type ${f.initiatorPort}`).toBeDefined();
      expect(reason.startsWith(`${family === 'icmpv6' ? 'ICMPv6' : 'ICMP'} `), reason).toBe(true);
      expect(reason).toContain(`(${f.initiatorPort})`);
      for (const w of keyWords(tsharkName!)) expect(reason.toLowerCase(), `${reason} vs tshark "${tsharkName}"`).toContain(w);
      expect(reason).not.toMatch(/\bport\b/);
    }
    const reasons = icmp.map((f) => a.classifications.get(f.id)!.reason);
    expect(reasons).toContainEqual(expect.stringMatching(/^ICMPv6 neighbor solicitation \(135\): /));
  });
});
