import { createServer } from 'node:http';

// The physical limit on this machine: plain node:http writing the same JSON body the weather-app sends for
// a cached /api/weather, with no framework, no logging and no security headers.
const body = Buffer.from(process.env.BASELINE_BODY ?? '{}');
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };

createServer((_req, res) => {
  res.writeHead(200, headers).end(body);
}).listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
