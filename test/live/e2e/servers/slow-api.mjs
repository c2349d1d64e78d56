// A stand-in for the Ollama API on 127.0.0.1:<port> (argv: port, delay in ms) for the privacy test:
// reads each request's body whole, answers after `delay` ms (so a client's connection lives long
// enough to be attributed, like a real model's first token) with how many body bytes it received,
// so the test knows the body crossed the wire. Bytes that are not HTTP get node's own 400 and close.
// Started as `ollama serve` (a copy of node named ollama, and a file named serve that imports this).
import http from 'node:http';

const port = Number(process.env.OAPV_PORT ?? 11434);
const delay = Number(process.env.OAPV_DELAY_MS ?? 200);

const server = http.createServer((req, res) => {
  let received = 0;
  req.on('data', (c) => { received += c.length; });
  req.on('end', () => setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ model: 'gemma3:1b', response: 'ok', done: true, received }));
  }, delay));
});
server.listen(port, '127.0.0.1', () => console.log(`api ready on ${port}`));
