// The OTLP/HTTP receiver of bench/telemetry, on a worker thread of its own: a collector runs apart
// from the service it collects from, so reading the exported requests must not take turns on the
// service's event loop. It reads and discards each request and counts them. It posts { port } once
// listening, and answers 'count' with { requests }.
import { createServer } from 'node:http';
import { parentPort } from 'node:worker_threads';

if (!parentPort) throw new Error('otlp-receiver.mjs runs as a worker thread');
const port = parentPort;
let requests = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  port.postMessage({ port: typeof address === 'object' && address ? address.port : 0 });
});
port.on('message', (message) => {
  if (message === 'count') port.postMessage({ requests });
});
