/**
 * Ports that name a service rather than a client's ephemeral end: everything below 1024 plus
 * the registered/popular ports below. Used only to guess the initiator of a flow whose
 * handshake was not seen (see pickInitiator in flow-table.ts).
 */
const KNOWN_SERVICE_PORTS = [
  1080,  // SOCKS
  1194,  // OpenVPN
  1433,  // MS SQL
  1883,  // MQTT
  1900,  // SSDP
  3000, 5000, 8000, 8008, 8888, 9000, 9090, // common HTTP dev/app servers
  3128,  // Squid / HTTP proxy
  3306,  // MySQL
  3389,  // RDP
  3478,  // STUN/TURN
  4317, 4318, // OpenTelemetry collector
  5060,  // SIP
  5353,  // mDNS
  5355,  // LLMNR
  5432,  // PostgreSQL
  5672,  // AMQP
  5900,  // VNC
  6379,  // Redis
  6443,  // Kubernetes API
  7860,  // Gradio / Open WebUI style front ends
  8080, 8443, // HTTP alternates / proxies
  9200,  // Elasticsearch
  11434, // Ollama API
  27017, // MongoDB
];

const SERVICE = new Uint8Array(65536);
for (let p = 1; p < 1024; p++) SERVICE[p] = 1;
for (const p of KNOWN_SERVICE_PORTS) SERVICE[p] = 1;

/** Port 0 (no port: ICMP-less, port-less protocols) is never a service port. */
export function isServicePort(port: number): boolean {
  return SERVICE[port & 0xffff] === 1;
}
