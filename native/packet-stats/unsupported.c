/* Not Linux: there are no AF_PACKET sockets, so the addon exports nothing and drops stay "unknown". */
#include <node_api.h>

static napi_value init(napi_env env, napi_value exports) {
  (void)env;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
