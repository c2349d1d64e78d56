/** capinfos (Wireshark's) as an independent reader of capture-file metadata. */
import { execFileSync } from 'node:child_process';

/** capinfos -I: per interface, its name (pcapng only; null in classic pcap) and Wireshark's name for its encapsulation. */
export function capinfosInterfaces(file: string): { name: string | null; encapsulation: string }[] {
  const text = execFileSync('capinfos', ['-I', file], { encoding: 'utf8' });
  return text.split(/^Interface #\d+ info:$/m).slice(1).map((block) => ({
    name: /^\s*Name = (.*)$/m.exec(block)?.[1] ?? null,
    encapsulation: /^\s*Encapsulation = (.*?) \(\d+ - [\w-]+\)$/m.exec(block)![1],
  }));
}

/** Wireshark's words for an encapsulation minus its filler: "Linux cooked-mode capture v2" -> linux, cooked, v2. */
export function encapsulationWords(encapsulation: string): string[] {
  return encapsulation.toLowerCase().replace('-mode', '').split(' ').filter((w) => w !== '' && w !== 'capture');
}
