import { readCaptureFile } from '../capture/read-file.js';
import type { ReadResult } from '../capture/read-result.js';
import type { SkipCounts } from '../decode/decoded.js';
import type { Flow } from '../flows/flow.js';
import type { DnsRecord, HttpRecord } from '../enrich/records.js';
import type { Classification } from '../classify/classify.js';
import { createIngest } from './ingest.js';

export interface Analysis {
  flows: Flow[];
  classifications: Map<number, Classification>;
  dns: DnsRecord[];
  http: HttpRecord[];
  read: ReadResult;
  skips: SkipCounts;
  packets: number;
}

/** The whole offline pipeline in memory, without a store: for tests and one-off inspection. */
export function analyzeCaptureFile(path: string): Analysis {
  const flows: Flow[] = [];
  const classifications = new Map<number, Classification>();
  const dns: DnsRecord[] = [];
  const http: HttpRecord[] = [];
  const ingest = createIngest({
    flow(f, c) {
      flows.push(f);
      classifications.set(f.id, c);
    },
    dns: (r) => dns.push(r),
    http: (r) => http.push(r),
  });
  const read = readCaptureFile(path, ingest.packet, { onInterface: (i) => i.index > 0 && ingest.severalInterfaces() });
  const counts = ingest.finish();
  flows.sort((a, b) => a.id - b.id);
  return { flows, classifications, dns, http, read, skips: counts.skips, packets: counts.packets };
}
