/**
 * lsof's field output (`-F`), as macOS's exposure and its lsof attribution read it:
 *   lsof +c 0 -nP -iTCP -iUDP -F pcuPTn  every Internet socket: pid, command, user, protocol, addresses, TCP state
 *   lsof -nP -iTCP -sTCP:LISTEN -F pcn   listening TCP sockets
 *
 * Format (lsof(8), section "OUTPUT FOR OTHER PROGRAMS"): one field per line, its first character
 * naming it, its data the rest of the line. A process set starts with `p` (PID, always produced)
 * and holds `c` (command) and `u` (its user ID); a file set starts with `f` (file descriptor). lsof 4.88 to 4.93.2 (macOS
 * ships 4.91) always print `f`; later versions only when asked, so a file set also starts at a
 * field its current file already has. File fields used: `P` protocol name (TCP, UDP), `n` the
 * Internet address (`local`, or `local->remote`; `*` a wildcard address or port; IPv6 in
 * brackets), `T` TCP/TPI information with a prefix (`ST=LISTEN`, `QR=0`, `QS=0`). Fields we do
 * not read are skipped, so `-F` with more letters still parses.
 */

export interface LsofEndpoint {
  /** Numeric address (-n), `*` for a wildcard; IPv6 without brackets (a zone kept: fe80::1%lo0). */
  address: string;
  /** null for a wildcard port (`*`). */
  port: number | null;
}

export interface LsofSocket {
  pid: number;
  /** The `c` field: the whole command name lsof has (macOS: p_comm, at most 16 bytes... or the full name). */
  command: string;
  /** `u`: the process's user ID; null when not asked for. */
  uid: number | null;
  fd: string | null;
  /** `P`: TCP, UDP...; null when not asked for. */
  protocol: string | null;
  /** The `n` field as printed. */
  name: string;
  local: LsofEndpoint | null;
  remote: LsofEndpoint | null;
  /** `T` ST=: LISTEN, ESTABLISHED, ...; null when lsof gave none (UDP, or T not asked for). */
  state: string | null;
}

/** Every Internet file set of lsof's -F output, with its process. Lines it does not know are skipped. */
export function parseLsofFields(text: string): LsofSocket[] {
  const out: LsofSocket[] = [];
  let pid = -1;
  let command = '';
  let uid: number | null = null;
  let file: LsofSocket | null = null;
  const startFile = (): LsofSocket => {
    file = { pid, command, uid, fd: null, protocol: null, name: '', local: null, remote: null, state: null };
    out.push(file);
    return file;
  };
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const id = line[0];
    const data = line.slice(1);
    if (id === 'p') {
      pid = Number(data);
      command = '';
      uid = null;
      file = null;
    } else if (id === 'c') command = data;
    else if (id === 'u' && /^\d+$/.test(data)) uid = Number(data);
    else if (pid < 0) continue; // a file field before any process: not lsof's output
    else if (id === 'f') startFile().fd = data;
    else if (id === 'P') (file === null || (file as LsofSocket).protocol !== null ? startFile() : file).protocol = data;
    else if (id === 'n') setName(file === null || (file as LsofSocket).name !== '' ? startFile() : file, data);
    else if (id === 'T' && file !== null && data.startsWith('ST=')) (file as LsofSocket).state = data.slice(3);
  }
  return out.filter((f) => f.name !== '');
}

function setName(f: LsofSocket, name: string): void {
  f.name = name;
  const arrow = name.indexOf('->');
  f.local = parseEndpoint(arrow < 0 ? name : name.slice(0, arrow));
  f.remote = arrow < 0 ? null : parseEndpoint(name.slice(arrow + 2));
}

/** `127.0.0.1:11434`, `*:11434`, `[::1]:11434`, `[fe80::1%lo0]:5353`, `*:*`; null when it is none of these. */
export function parseEndpoint(text: string): LsofEndpoint | null {
  let address: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return null;
    address = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) return null;
    address = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (portText === '*') return { address, port: null };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return null;
  return { address, port: Number(portText) };
}
