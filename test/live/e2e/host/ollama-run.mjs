// `ollama run MODEL PROMPT` as the CLI does it: POST /api/generate on 127.0.0.1:11434 with the prompt
// in the JSON body. Started as a copy of node named ollama with a file named `run` that imports
// this, so /proc/<pid>/cmdline reads `.../ollama run MODEL PROMPT`, argv exactly like the real CLI's.
// Prints the server's answer (it says how many body bytes arrived).
import http from 'node:http';

const [model, prompt] = process.argv.slice(2);
const body = JSON.stringify({ model, prompt, stream: false });
const req = http.request({ host: '127.0.0.1', port: 11434, path: '/api/generate', method: 'POST',
  headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
  let text = '';
  res.on('data', (c) => { text += c; });
  res.on('end', () => console.log(text));
});
req.on('error', (err) => { console.error(err.message); process.exitCode = 1; });
req.end(body);
