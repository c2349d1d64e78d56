/** macOS attribution: from pktap's per-packet process blocks (pktap-packet.ts, pktap-attributor.ts), else by lsof lookups (lsof-attributor.ts). */
export { createPktapAttributor, type PktapAttributorOptions } from './pktap-attributor.js';
export { attributeFromPktap } from './pktap-packet.js';
export { createLsofAttributor } from './lsof-attributor.js';
