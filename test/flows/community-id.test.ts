import { describe, expect, it } from 'vitest';
import { isIPv4 } from 'node:net';
import { communityIdV1 } from '../../src/flows/community-id.js';
import { ip4, ip6 } from '../decode/frames.js';

const addr = (t: string) => (isIPv4(t) ? ip4(t) : ip6(t));

/**
 * corelight/community-id-spec baseline/baseline_deflt.json (seed 0). Its ICMP records give the
 * port equivalents (type, counterpart) for request/reply types and (type, code) for one-way
 * ones; our function takes (type, code) and ignores the code of request/reply types, so the
 * record's numbers can be passed as they are.
 */
const BASELINE: [number, string, string, number | null, number | null, string][] = [
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 135, 136, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 136, 135, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 135, 136, '1:zavyT/cezQr1fmImYCwYnMXbgck='],
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 136, 135, '1:zavyT/cezQr1fmImYCwYnMXbgck='],
  [58, '3ffe:501:1800:2345::2', '3ffe:507:0:1:200:86ff:fe05:80da', 3, 0, '1:2ObVBgIn28oZvibYZhZMBgh7WdQ='],
  [58, '3ffe:501:410:0:2c0:dfff:fe47:33e', '3ffe:507:0:1:200:86ff:fe05:80da', 1, 4, '1:hLZd0XGWojozrvxqE0dWB1iM6R0='],
  [58, '3ffe:507:0:1:200:86ff:fe05:80da', '3ffe:501:0:1001::2', 128, 129, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg='],
  [58, '3ffe:501:0:1001::2', '3ffe:507:0:1:200:86ff:fe05:80da', 129, 128, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg='],
  [58, 'fe80::200:86ff:fe05:80da', 'ff02::2', 133, 134, '1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0='],
  [58, 'fe80::260:97ff:fe07:69ea', 'ff02::1', 134, 133, '1:pkvHqCL88/tg1k4cPigmZXUtL00='],
  [1, '192.168.0.89', '192.168.0.1', 8, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '192.168.0.1', '192.168.0.89', 0, 8, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '10.0.0.1', '10.0.0.2', 11, 0, '1:YHxtAirCG//0OzkcVAukqKQN9xM='],
  [6, '2001:470:e5bf:dead:4957:2174:e82c:4887', '2607:f8b0:400c:c03::1a', 63943, 25, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4='],
  [6, '2607:f8b0:400c:c03::1a', '2001:470:e5bf:dead:4957:2174:e82c:4887', 25, 63943, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4='],
  [132, '192.168.170.8', '192.168.170.56', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs='],
  [132, '192.168.170.56', '192.168.170.8', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs='],
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
  [6, '66.35.250.204', '128.232.110.120', 80, 34855, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
  [17, '192.168.1.52', '8.8.8.8', 54585, 53, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='],
  [46, '10.1.12.1', '10.1.12.2', null, null, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw='],
  [46, '10.1.12.2', '10.1.12.1', null, null, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw='],
];

/** Zeek's testing/btest/bifs/community_id (seed 0 and seed 1). */
const ZEEK: [number, string, string, number, number, number, string][] = [
  [6, '1.2.3.4', '5.6.7.8', 1122, 3344, 0, '1:wCb3OG7yAFWelaUydu0D+125CLM='],
  [17, '1.2.3.4', '5.6.7.8', 1122, 3344, 0, '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg='],
  [1, '1.2.3.4', '5.6.7.8', 8, 0, 0, '1:crodRHL2FEsHjbv3UkRrfbs4bZ0='],
  [58, 'fe80:1:203:405:607:809:a0b:c0d', 'fe80:1011:1213:1415:1617:1819:1a1b:1c1d', 128, 0, 0, '1:0bf7hyMJUwt3fMED7z8LIfRpBeo='],
  [6, '1.2.3.4', '5.6.7.8', 1122, 3344, 1, '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk='],
  [17, '1.2.3.4', '5.6.7.8', 1122, 3344, 1, '1:OShq+iKDAMVouh/4bMxB9Sz4amw='],
  [1, '1.2.3.4', '5.6.7.8', 8, 0, 1, '1:9pr4ZGTICiuZoIh90RRYE2RyXpU='],
  [58, 'fe80:1:203:405:607:809:a0b:c0d', 'fe80:1011:1213:1415:1617:1819:1a1b:1c1d', 128, 0, 1, '1:IO27GQzPuCtNnwFvjWALMHu5tJE='],
];

describe('communityIdV1', () => {
  it('matches the spec baseline (baseline_deflt.json)', () => {
    for (const [proto, s, d, sp, dp, want] of BASELINE) {
      expect(communityIdV1(addr(s), addr(d), proto, sp ?? 0, dp ?? 0), `${proto} ${s} ${sp} ${d} ${dp}`).toBe(want);
    }
  });

  it("matches Zeek's community_id_v1 test vectors, seeds 0 and 1", () => {
    for (const [proto, s, d, sp, dp, seed, want] of ZEEK) {
      expect(communityIdV1(addr(s), addr(d), proto, sp, dp, seed)).toBe(want);
    }
  });

  it('an echo reply seen alone gets the id of its request (type 0 maps back to 8)', () => {
    expect(communityIdV1(addr('5.6.7.8'), addr('1.2.3.4'), 1, 0, 0)).toBe('1:crodRHL2FEsHjbv3UkRrfbs4bZ0=');
  });

  it('rejects mixed address families', () => {
    expect(() => communityIdV1(ip4('1.2.3.4'), ip6('::1'), 6, 1, 2)).toThrow(RangeError);
  });
});
