/**
 * A stand-in init system for the service tests (there is no running systemd here): scripts put
 * first on PATH that record each call in $OASV_CALLS, one line each; `systemctl show` and
 * `launchctl print` print the file $OASV_SHOW (the properties a test wants systemd to report).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeStandIns(bin: string): void {
  mkdirSync(bin, { recursive: true });
  const script = (name: string, extra = '') => {
    writeFileSync(join(bin, name), `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> "$OASV_CALLS"\n${extra}`);
    chmodSync(join(bin, name), 0o755);
  };
  script('systemctl', 'if [ "$1" = show ]; then cat "$OASV_SHOW"; fi\n');
  script('systemd-sysusers');
  script('launchctl', 'if [ "$1" = print ]; then cat "$OASV_SHOW"; fi\n');
}
