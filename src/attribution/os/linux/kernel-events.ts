/**
 * Socket events from the kernel, taken at the moment a process sends (or accepts), through
 * bpftrace. Reading /proc after the first packet misses what lives a few milliseconds (a Go
 * resolver's DNS lookup, a quick update check); the kernel knows the process at send time. The
 * tools that do this best (ptcpdump, picosnitch, OpenSnitch) take it there too.
 *
 * Why bpftrace and not our own BPF loader: bpftrace is a well-kept Debian package that compiles
 * and attaches the probes; building a BPF compiler or libbpf into this project would be a second,
 * worse copy of it (native-notes/ebpf.md).
 *
 * Tracepoints only: on the machines this project runs on kprobes and fentry are unavailable
 * (CONFIG_KPROBES off, available_filter_functions unreadable; native-notes/ebpf.md).
 *
 * One line per event, fields separated by one space, the process name (the thread group
 * leader's comm) last (it may hold spaces):
 *   C4|C6 ns pid tid uid netns proto laddr lport raddr rport comm   a pure SYN left (connect())
 *   U4|U6 ...                                                      a UDP datagram left a socket
 *                                                                  (first per socket, port and peer each 10 s)
 *   A4|A6 ...                                                      accept() returned a TCP socket
 *   R ready                                                        every probe is attached (BEGIN runs after)
 * ns: CLOCK_MONOTONIC nanoseconds. Addresses: the 32-bit words as the CPU read them from memory
 * (one for IPv4, four joined by ':' for IPv6), in hex. Ports as read from the header (network
 * byte order read little-endian) except A's local port (skc_num, host order).
 */

/**
 * The program. A pure SYN (SYN without ACK) is sent by connect() in the connecting process's own
 * context; a SYN-ACK or an ACK may be sent in softirq while any process happens to run (on
 * loopback, the client's), so only pure SYNs name a TCP sender. UDP has no such kernel-made
 * datagrams with a socket (ICMP errors use the kernel's own sockets, left out by protocol).
 * accept() runs in the accepting process: its fd's socket gives both ends.
 * `@seen` bounds UDP events to one per socket, local port and peer every 10 s; it is cleared then,
 * so its size stays bounded whatever a flood sends. The local port is in the key because a freed
 * socket's memory is soon reused by the next one (a resolver opens one per lookup): by pointer
 * alone the next lookup's socket looked already seen.
 */
export const BPFTRACE_PROGRAM = `
tracepoint:net:net_dev_queue {
  $skb = (struct sk_buff *)args->skbaddr;
  $sk = $skb->sk;
  if ($sk != 0) {
    $p = $sk->sk_protocol;
    $nh = $skb->head + $skb->network_header;
    $th = $skb->head + $skb->transport_header;
    $v = (*(uint8 *)$nh) >> 4;
    $ns = $sk->__sk_common.skc_net.net->ns.inum;
    if ($p == 6 && (*(uint8 *)($th + 13) & 0x12) == 0x02) {
      if ($v == 4) {
        printf("C4 %llu %d %d %d %u 6 %x %x %x %x %s\\n", nsecs, pid, tid, uid, $ns, *(uint32 *)($nh + 12), *(uint16 *)$th, *(uint32 *)($nh + 16), *(uint16 *)($th + 2), curtask->group_leader->comm);
      }
      if ($v == 6) {
        printf("C6 %llu %d %d %d %u 6 %x:%x:%x:%x %x %x:%x:%x:%x %x %s\\n", nsecs, pid, tid, uid, $ns, *(uint32 *)($nh + 8), *(uint32 *)($nh + 12), *(uint32 *)($nh + 16), *(uint32 *)($nh + 20), *(uint16 *)$th, *(uint32 *)($nh + 24), *(uint32 *)($nh + 28), *(uint32 *)($nh + 32), *(uint32 *)($nh + 36), *(uint16 *)($th + 2), curtask->group_leader->comm);
      }
    }
    if ($p == 17) {
      if ($v == 4) {
        $d4 = *(uint32 *)($nh + 16);
        $dp4 = *(uint16 *)($th + 2);
        $sp4 = *(uint16 *)$th;
        if (@seen[$sk, $sp4, $d4, $dp4] == 0) {
          @seen[$sk, $sp4, $d4, $dp4] = 1;
          printf("U4 %llu %d %d %d %u 17 %x %x %x %x %s\\n", nsecs, pid, tid, uid, $ns, *(uint32 *)($nh + 12), *(uint16 *)$th, $d4, $dp4, curtask->group_leader->comm);
        }
      }
      if ($v == 6) {
        $d6 = *(uint32 *)($nh + 36);
        $dp6 = *(uint16 *)($th + 2);
        $sp6 = *(uint16 *)$th;
        if (@seen[$sk, $sp6, $d6, $dp6] == 0) {
          @seen[$sk, $sp6, $d6, $dp6] = 1;
          printf("U6 %llu %d %d %d %u 17 %x:%x:%x:%x %x %x:%x:%x:%x %x %s\\n", nsecs, pid, tid, uid, $ns, *(uint32 *)($nh + 8), *(uint32 *)($nh + 12), *(uint32 *)($nh + 16), *(uint32 *)($nh + 20), *(uint16 *)$th, *(uint32 *)($nh + 24), *(uint32 *)($nh + 28), *(uint32 *)($nh + 32), $d6, $dp6, curtask->group_leader->comm);
        }
      }
    }
  }
}
tracepoint:syscalls:sys_exit_accept4, tracepoint:syscalls:sys_exit_accept /args->ret >= 0/ {
  $file = *(curtask->files->fdt->fd + args->ret);
  $sk = ((struct socket *)$file->private_data)->sk;
  $f = $sk->__sk_common.skc_family;
  if ($sk->sk_protocol == 6) {
    $ans = $sk->__sk_common.skc_net.net->ns.inum;
    if ($f == 2) {
      printf("A4 %llu %d %d %d %u 6 %x %x %x %x %s\\n", nsecs, pid, tid, uid, $ans, $sk->__sk_common.skc_rcv_saddr, $sk->__sk_common.skc_num, $sk->__sk_common.skc_daddr, $sk->__sk_common.skc_dport, curtask->group_leader->comm);
    }
    if ($f == 10) {
      printf("A6 %llu %d %d %d %u 6 %x:%x:%x:%x %x %x:%x:%x:%x %x %s\\n", nsecs, pid, tid, uid, $ans,
        $sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[0], $sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[1],
        $sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[2], $sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[3],
        $sk->__sk_common.skc_num,
        $sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[0], $sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[1],
        $sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[2], $sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[3],
        $sk->__sk_common.skc_dport, curtask->group_leader->comm);
    }
  }
}
BEGIN { printf("R ready\\n"); }
interval:s:10 { clear(@seen); }
END { clear(@seen); }
`;

/** What a socket event says: who sent (or accepted), and the socket's two ends. */
export interface KernelSocketEvent {
  kind: 'connect' | 'udp-send' | 'accept';
  /** CLOCK_MONOTONIC, µs. */
  monotonicUs: number;
  /** Process id (the thread group), thread id, user id, network namespace inode. */
  pid: number;
  tid: number;
  uid: number;
  netns: number;
  proto: number;
  localAddr: Buffer;
  localPort: number;
  remoteAddr: Buffer;
  remotePort: number;
  /**
   * The sending process's name: its thread group leader's comm (at most 15 bytes). Not the
   * thread's: node's resolver threads are named libuv-worker, Chrome's others again.
   */
  comm: string;
}

const KINDS: Record<string, KernelSocketEvent['kind']> = { C: 'connect', U: 'udp-send', A: 'accept' };
const FIXED_FIELDS = 11;

/** 32-bit words as the CPU read them from memory (little-endian x86/arm64) → the bytes in memory. */
function addrFromWords(text: string, family: '4' | '6'): Buffer | null {
  const words = text.split(':');
  if (words.length !== (family === '4' ? 1 : 4)) return null;
  const out = Buffer.allocUnsafe(words.length * 4); // every byte is written below; from the pool (one per event)
  for (let i = 0; i < words.length; i++) {
    const w = Number.parseInt(words[i]!, 16);
    if (!Number.isFinite(w) || w < 0 || w > 0xffffffff || !/^[0-9a-f]+$/.test(words[i]!)) return null;
    out.writeUInt32LE(w, i * 4);
  }
  return out;
}

/** A 16-bit value read little-endian from network-order bytes → the port. */
function portFromWire(text: string): number {
  const v = Number.parseInt(text, 16);
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/** One line of the program's output → an event; null for any other line (bpftrace's own notes). */
export function parseKernelEvent(line: string): KernelSocketEvent | null {
  const m = /^([CUA])([46]) /.exec(line);
  if (!m) return null;
  const parts = line.split(' ');
  if (parts.length < FIXED_FIELDS + 1) return null;
  const [, ns, pid, tid, uid, netns, proto, la, lp, ra, rp] = parts;
  const family = m[2] as '4' | '6';
  const localAddr = addrFromWords(la!, family);
  const remoteAddr = addrFromWords(ra!, family);
  const nums = [pid, tid, uid, netns, proto].map((s) => Number(s));
  if (!localAddr || !remoteAddr || nums.some((n) => !Number.isInteger(n)) || !/^\d+$/.test(ns!)) return null;
  const kind = KINDS[m[1]!]!;
  return {
    kind,
    // ns / 1000 rounded down, exactly (the digits less the last three; no BigInt per event).
    monotonicUs: ns!.length > 3 ? Number(ns!.slice(0, -3)) : 0,
    pid: nums[0]!, tid: nums[1]!, uid: nums[2]!, netns: nums[3]!, proto: nums[4]!,
    localAddr,
    // accept's local port is skc_num, kept in host byte order by the kernel.
    localPort: kind === 'accept' ? Number.parseInt(lp!, 16) : portFromWire(lp!),
    remoteAddr,
    remotePort: portFromWire(rp!),
    comm: parts.slice(FIXED_FIELDS).join(' '),
  };
}
