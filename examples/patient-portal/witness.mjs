// A small audit-log witness for the patient portal (docs/FORMAT.md §6.6): a
// separate process on 127.0.0.1 that the portal's storage server does not
// control. It cosigns a checkpoint only if a key registered for that log
// signed it and it extends what the witness cosigned before (phiseal
// `Witness`: STALE_VERSION for a fork or a rollback), so a verifier that
// requires its cosignature sees the history the witness saw, or refuses.
//
//   node examples/patient-portal/witness.mjs [--timeout 3600]
//     prints one JSON line {url, name, publicKey} and serves:
//     GET  /key                      {name, publicKey}
//     POST /logs   {origin, jwk}     a log's checkpoint key, sent by the writer's browser (CORS); 409 for another key
//     GET  /last?origin=…            {size, root} last cosigned, or null
//     POST /cosign {note, proof}     {cosignature} (a signature line) or 409 {error, code}
//
// Each log is bound to the first key registered for it: the same key again
// is accepted, any other key for that origin is refused (409). The writer's
// browser registers its key when it opens the log (a random id), before it
// sends the server a single line of it, so the server learns a log's id only
// once its writer's key is bound, and cannot register a key of its own to
// have its rewrite of that log cosigned. (A log id the server makes up gets
// the server's key; verifiers refuse such a log: they trust only signer keys
// the organisation's root certified.)
//
// It stops by itself after --timeout seconds, or when its parent closes its
// stdin. Demo simplifications, stated plainly: its key and state live in
// memory (a restart forgets what it cosigned and which key each log has: a
// real witness stores them); any local page may register a key for a log
// id it has not seen.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { init, importPublicKey, SigningKey, Witness } from '../../js/index.js';

const NAME = 'witness.portal.example/w1';
const MAX_BODY = 1 << 20;

export async function startWitness({ port = 0 } = {}) {
  await init();
  const signingKey = SigningKey.generate();
  /** origin -> {kid, witness: Witness}: the one key each log is bound to. */
  const logs = new Map();
  const body = async (req) => {
    let text = '';
    for await (const chunk of req) {
      text += chunk;
      if (text.length > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    }
    return JSON.parse(text);
  };
  const routes = {
    'GET /key': () => ({ name: NAME, publicKey: signingKey.publicKey.toJwk() }),
    'POST /logs': async (req) => {
      const { origin, jwk } = await body(req);
      if (typeof origin !== 'string') throw Object.assign(new Error('origin must be a string'), { status: 400 });
      const key = importPublicKey(jwk); // refuses anything but a P-384 public key
      const bound = logs.get(origin);
      if (bound) {
        if (bound.kid !== key.kid) {
          throw Object.assign(new Error('this log is bound to another key (the first one registered for it)'), { status: 409, code: 'UNTRUSTED_AUTHOR' });
        }
        return { origin, kid: key.kid };
      }
      logs.set(origin, { kid: key.kid, witness: new Witness({ name: NAME, signingKey, logKeys: [key] }) });
      return { origin, kid: key.kid };
    },
    'GET /last': (req) => {
      const origin = new URL(req.url, 'http://x').searchParams.get('origin') ?? '';
      return logs.get(origin)?.witness.last(origin) ?? null;
    },
    'POST /cosign': async (req) => {
      const { note, proof } = await body(req);
      const origin = typeof note === 'string' ? note.split('\n', 1)[0] : '';
      const log = logs.get(origin);
      if (!log) throw Object.assign(new Error('no key registered for this log'), { status: 409, code: 'UNTRUSTED_AUTHOR' });
      try {
        return { cosignature: log.witness.cosign(note, proof ?? []) };
      } catch (e) {
        throw Object.assign(new Error(e.message), { status: 409, code: e.code });
      }
    },
  };
  const server = createServer(async (req, res) => {
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type' };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const route = routes[`${req.method} ${new URL(req.url, 'http://x').pathname}`];
    try {
      if (!route) throw Object.assign(new Error('no such API'), { status: 404 });
      const result = JSON.stringify(await route(req));
      res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(result);
    } catch (e) {
      res.writeHead(e.status ?? 400, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify({ error: e.message, code: e.code ?? null }));
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, name: NAME, publicKey: signingKey.publicKey.toJwk(), close: () => new Promise((r) => server.close(r)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--timeout');
  const timeout = i >= 0 ? Number(process.argv[i + 1]) : 3600;
  const w = await startWitness();
  console.log(JSON.stringify({ url: w.url, name: w.name, publicKey: w.publicKey }));
  const stop = () => w.close().then(() => process.exit(0));
  setTimeout(stop, timeout * 1000).unref();
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}
