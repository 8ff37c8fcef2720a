// A small static file server for the demo and the browser tests.
// Listens on 127.0.0.1 only, serves the repository root, and stops by itself
// (after --timeout seconds, default 3600 for the demo).
//
//   node tests/support/serve.mjs --demo [--port N] [--timeout S]
//   import { serve } from './serve.mjs'  (tests: random port, close() when done)
//
// `handle(req, res)` (optional) sees each request first and resolves to true
// when it answered it (the example apps mount their APIs this way).

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.map': 'application/json',
  '.ts': 'text/plain',
};

/** Starts a server on 127.0.0.1; resolves to {url, close, server}. */
export function serve({ port = 0, root = ROOT, handle } = {}) {
  const server = createServer(async (req, res) => {
    try {
      if (handle && (await handle(req, res))) return;
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      let file = normalize(join(root, path));
      if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
        res.writeHead(403).end();
        return;
      }
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      resolve({ url: `http://127.0.0.1:${p}`, close: () => new Promise((r) => server.close(r)), server });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const timeout = arg('--timeout', 3600);
  const { url, server } = await serve({ port: arg('--port', 8417) });
  console.log(`phiseal demo: ${url}/examples/  (stops by itself after ${timeout} s; Ctrl-C to stop now)`);
  setTimeout(() => server.close(() => process.exit(0)), timeout * 1000).unref();
  server.on('close', () => process.exit(0));
}
