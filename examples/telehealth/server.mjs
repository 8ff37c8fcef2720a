// The telehealth signaling server: a WebSocket at /api/signal?room=NAME that
// relays messages between the two browsers of one visit (at most two per
// room). It sees SDP, ICE candidates, the participants' P-384 *public* keys
// and SFrame base keys *wrapped with HPKE* to those public keys: nothing that
// decrypts the media. The media itself flows browser to browser (or through a
// TURN relay), SFrame-encrypted; this server never carries it.
//
//   import { signaling } from './telehealth/server.mjs'
//   const sig = signaling(httpServer);   // sig.close() ends every connection

import { WebSocketServer } from 'ws';

const MAX_MESSAGE = 64 * 1024;
const ROOM = /^[A-Za-z0-9_-]{1,64}$/;
/** Messages a browser may send to its peer; anything else is dropped. */
const RELAYED = new Set(['hello', 'key', 'key-request', 'offer', 'answer', 'ice', 'bye']);

export function signaling(server, { path = '/api/signal' } = {}) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });
  const rooms = new Map(); // name -> Set of sockets

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'http://x');
    const room = url.searchParams.get('room') ?? '';
    // Same-origin pages only (the Origin of the page that opened the socket).
    const host = req.headers.host;
    const sameOrigin = req.headers.origin === `http://${host}`;
    if (url.pathname !== path || !ROOM.test(room) || !sameOrigin) {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const members = rooms.get(room) ?? new Set();
    if (members.size >= 2) {
      socket.end('HTTP/1.1 409 Conflict\r\ncontent-type: text/plain\r\n\r\nthis visit already has two participants');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => join(ws, room));
  });

  function send(ws, message) {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  }

  function join(ws, room) {
    const members = rooms.get(room) ?? new Set();
    rooms.set(room, members);
    members.add(ws);
    // The first to join waits; the second makes the pair, and the first sends the offer.
    send(ws, { type: 'joined', room, participants: members.size });
    if (members.size === 2) for (const m of members) send(m, { type: 'ready', initiator: m !== ws });

    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let message;
      try {
        message = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      if (!RELAYED.has(message?.type)) return;
      for (const m of members) if (m !== ws) send(m, message);
    });
    ws.on('close', () => {
      members.delete(ws);
      if (members.size === 0) rooms.delete(room);
      for (const m of members) send(m, { type: 'peer-left' });
    });
  }

  return {
    rooms,
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
