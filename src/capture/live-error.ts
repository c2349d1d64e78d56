import { UserFacingError } from '../errors.js';
/**
 * The one error a live capture throws when it cannot start. Its message is a single line that
 * says how to fix the problem; the CLI prints it as is and exits 2.
 */
export class LiveCaptureError extends UserFacingError {
  constructor(message: string) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

/** Capture needs CAP_NET_RAW alone (CAP_NET_ADMIN measured unnecessary: native-notes/service.md), so no more is suggested. */
/** On macOS, a user without the access_bpf group cannot open /dev/bpf* (cap's BPF devices, and tcpdump's). */
export const DARWIN_BPF_HINT = "run with sudo, or join the access_bpf group (Wireshark's ChmodBPF installs it)";

const SETCAP = 'sudo setcap cap_net_raw+eip "$(readlink -f "$(which node)")"';

export function capMissingError(cause: unknown): LiveCaptureError {
  return new LiveCaptureError(
    `live capture needs libpcap: apt-get install -y libpcap-dev, then npm rebuild cap (or reinstall) (cannot load cap: ${firstLine(cause)})`,
  );
}

/**
 * Turns what libpcap said when `cap.open` failed into a LiveCaptureError that says what to do.
 * libpcap reports a missing privilege as "socket: Operation not permitted" (measured as uid 65534)
 * and other versions as "You don't have permission to capture on that device" (macOS: "(cannot open
 * BPF device) /dev/bpf0: Permission denied"); `hint` says what to do on this OS.
 */
export function openError(device: string, filter: string, cause: unknown, devices: string[] | null, hint = `run as root, or: ${SETCAP}`): LiveCaptureError {
  const msg = firstLine(cause);
  if (/operation not permitted|permission/i.test(msg)) {
    return new LiveCaptureError(`cannot capture on ${device}: no permission (libpcap: ${msg}); ${hint}`);
  }
  if (/no such device/i.test(msg)) return noSuchDeviceError(device, devices);
  if (filter !== '' && /filter|syntax|parse|unknown host|illegal|not supported|expression/i.test(msg)) {
    return badFilterError(filter, msg);
  }
  return new LiveCaptureError(`cannot capture on ${device}: ${msg}`);
}

export function noSuchDeviceError(device: string, devices: string[] | null): LiveCaptureError {
  const known = devices === null ? 'the device list is unavailable' : `available: ${devices.join(', ') || '(none)'}`;
  return new LiveCaptureError(`no such capture device "${device}"; ${known}`);
}

export function badFilterError(filter: string, libpcapMessage: string): LiveCaptureError {
  return new LiveCaptureError(`bad capture filter "${filter}": ${libpcapMessage}`);
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].trim();
}
