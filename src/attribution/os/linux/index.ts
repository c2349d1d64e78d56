/**
 * Linux attribution: procfs socket tables → inode → /proc/<pid>/fd. The code stays in
 * src/attribution/procfs-*.ts (many tests and modules import it there); this is its entry for the
 * per-OS selection (../select.ts).
 */
export { createProcfsAttributor, type ProcfsAttributorOptions } from '../../procfs-attributor.js';
