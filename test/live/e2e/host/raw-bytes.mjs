// Sends the bytes of $OAPV_RAW (not HTTP: a prompt written straight to the socket) to
// 127.0.0.1:11434, half-closes, and prints what came back. The bytes come from the environment,
// not argv, so that only the socket carries them.
import net from 'node:net';

const s = net.connect(11434, '127.0.0.1', () => s.end(process.env.OAPV_RAW));
let got = '';
s.on('data', (c) => { got += c; });
s.on('close', () => console.log(JSON.stringify({ sent: Buffer.byteLength(process.env.OAPV_RAW), answer: got.split('\r\n')[0] })));
s.on('error', (err) => { console.error(err.message); process.exitCode = 1; });
