/*
 * packetStats(fd) -> { packets, drops, freezeQueue }
 *
 * Reads the kernel's per-socket counters of an AF_PACKET socket (what libpcap's pcap_stats
 * reads on Linux). `cap` keeps its pcap_t to itself and never calls pcap_stats, so the live
 * capture finds the socket's fd in /proc/self/fd and asks the kernel directly.
 *
 * The kernel zeroes these counters on every read: callers add them up. `packets` counts what
 * passed the socket filter including what was dropped (the kernel adds drops into it).
 * Throws (with errno text) when fd is not a packet socket, so a recycled fd number is noticed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <node_api.h>

#ifndef SO_DOMAIN
#define SO_DOMAIN 39
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23 /* Linux 4.20 */
#endif

static napi_value fail(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_status set_u32(napi_env env, napi_value obj, const char *key, unsigned int v) {
  napi_value n;
  napi_status s = napi_create_uint32(env, v, &n);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, obj, key, n);
}

/* Reads argument 0 as the fd of a packet socket; throws and returns -1 otherwise. */
static int packet_fd_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a non-negative integer");
    return -1;
  }
  int domain = 0;
  socklen_t dlen = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) != 0) {
    fail(env, "getsockopt(SO_DOMAIN)", errno);
    return -1;
  }
  if (domain != AF_PACKET) {
    fail(env, "not an AF_PACKET socket", ENOTSOCK);
    return -1;
  }
  return fd;
}

static napi_value packet_stats(napi_env env, napi_callback_info info) {
  int fd = packet_fd_arg(env, info);
  if (fd < 0) return NULL;

  /* v3 is a superset of the v1/v2 struct; the kernel writes only what its ring version has. */
  struct tpacket_stats_v3 st;
  memset(&st, 0, sizeof st);
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) return fail(env, "getsockopt(PACKET_STATISTICS)", errno);

  napi_value out;
  if (napi_create_object(env, &out) != napi_ok ||
      set_u32(env, out, "packets", st.tp_packets) != napi_ok ||
      set_u32(env, out, "drops", st.tp_drops) != napi_ok ||
      set_u32(env, out, "freezeQueue", len >= sizeof st ? st.tp_freeze_q_cnt : 0) != napi_ok) {
    napi_throw_error(env, NULL, "packetStats: cannot build result");
    return NULL;
  }
  return out;
}

/*
 * ignoreOutgoing(fd): the kernel stops handing this socket the packets the host sends.
 * On a loopback capture every packet passes twice (sent, then received) and libpcap throws the
 * sent copy away in user space; ignoring it in the kernel halves the ring traffic and makes the
 * counters count each packet once.
 */
static napi_value ignore_outgoing(napi_env env, napi_callback_info info) {
  int fd = packet_fd_arg(env, info);
  if (fd < 0) return NULL;
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) return fail(env, "setsockopt(PACKET_IGNORE_OUTGOING)", errno);
  return NULL;
}

static napi_status export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_status s = napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  if (export_fn(env, exports, "packetStats", packet_stats) != napi_ok ||
      export_fn(env, exports, "ignoreOutgoing", ignore_outgoing) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
