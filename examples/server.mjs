// One local server for both example apps (what `make demo` runs): the
// repository's static files, the patient portal's API (SQLite), and the
// telehealth signaling WebSocket. 127.0.0.1 only; it stops by itself after
// --timeout seconds (default one hour).
//
//   node examples/server.mjs [--port 8417] [--timeout 3600] [--data DIR]
//   import { startExamples } from './examples/server.mjs'   (tests: random port, temporary data)

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, ROOT } from '../tests/support/serve.mjs';
import { portalApi } from './patient-portal/server.mjs';
import { signaling } from './telehealth/server.mjs';

export const DEFAULT_DATA = join(ROOT, 'examples', '.data');

/** Starts the example server; resolves to {url, close, portal, dbFile}. */
export async function startExamples({ port = 0, dataDir = DEFAULT_DATA } = {}) {
  const dbFile = join(dataDir, 'portal.sqlite');
  const portal = await portalApi({ file: dbFile });
  const http = await serve({ port, handle: portal.handle });
  const sig = signaling(http.server);
  return {
    url: http.url,
    dbFile,
    portal,
    server: http.server,
    close: async () => {
      sig.close();
      http.server.closeAllConnections?.();
      await http.close();
      portal.close();
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const timeout = Number(arg('--timeout', 3600));
  const ex = await startExamples({ port: Number(arg('--port', 8417)), dataDir: arg('--data', DEFAULT_DATA) });
  console.log(`phiseal examples on ${ex.url}  (127.0.0.1 only; stops by itself after ${timeout} s; Ctrl-C to stop now)
  start here:      ${ex.url}/examples/
  patient portal:  ${ex.url}/examples/patient-portal/
  telehealth:      ${ex.url}/examples/telehealth/
  HPKE playground: ${ex.url}/examples/hpke.html
  portal database: ${ex.dbFile} (${ex.portal.engine}; it holds only ciphertext)`);
  const stop = () => ex.close().then(() => process.exit(0));
  setTimeout(stop, timeout * 1000).unref();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
