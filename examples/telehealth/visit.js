// One side of a two-party telehealth visit.
//
// 1. Each browser makes a P-384 key pair for this visit (the private key a
//    non-extractable WebCrypto key) and a random SFrame base key for what it
//    sends, and joins the room on the local signaling server.
// 2. The two exchange public keys ("hello"); the first one seen is pinned
//    for the visit. Each wraps its SFrame base key with HPKE auth mode
//    (DHKEM P-384) from its own identity key to the other's ("key"). The
//    server relays these and the SDP; it can read neither key, and a key it
//    wraps itself, or a second "hello" with another public key, is refused
//    (a blocking warning, never applied).
// 3. The WebRTC connection is a phiseal secure peer connection: every track
//    is SFrame-encrypted in a worker before it is packetized, and decrypted on
//    arrival; a frame without the right key is dropped, never shown.
// 4. Both sides show the same 40-digit safety code (over the visit id, both
//    identity keys and both sender ids): reading it aloud detects a signaling
//    server that swapped the public keys before the first "hello" arrived.

import * as phiseal from '../../js/index.js';
import { MediaKeyring, SecureCall, attachE2EE, e2eeSupport, secureConnectionConfig } from '../../js/media.js';
import { describe, protect } from '../protect.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const room = params.get('room') ?? 'visit-1';
const role = params.get('role') === 'patient' ? 'patient' : 'clinician';
const name = params.get('name') ?? (role === 'clinician' ? 'Dr. Maya Lee' : 'Ana Souza');
const hex = (a) => [...a].map((x) => x.toString(16).padStart(2, '0')).join(' ');

const state = {
  role,
  room,
  phase: 'starting',
  peer: null, // {name, role, kid, senderId}
  code: null,
  remoteFrames: 0,
  keyFromPeer: false,
  verified: false,
  identityWarning: null, // {senderId, pinned, offered} after a refused identity change
  refused: [], // key wraps refused: {code, message}
  error: null,
};
window.visit = state;

function setPhase(phase, text, ok = true) {
  state.phase = phase;
  $('status').textContent = text;
  $('status').className = ok ? 'ok' : 'err';
}

function showCounters(c) {
  if (!c) return;
  state.counters = c;
  $('counters').textContent = [
    `sent:     ${c.encrypted} frames encrypted (video ${c.video.encrypted}, audio ${c.audio.encrypted}), epoch ${c.sendEpoch ?? '-'}, KID ${c.sendKid ?? '-'}`,
    `received: ${c.decrypted} frames decrypted (video ${c.video.decrypted}, audio ${c.audio.decrypted})`,
    `dropped:  ${c.failed.total} (no key ${c.failed.unknownKey}, wrong key or tampered ${c.failed.auth}, replayed ${c.failed.replay}, malformed ${c.failed.malformed})`,
    `AES-GCM in ${c.aead}; suite ${c.suite}`,
  ].join('\n');
}

function showFrame(f) {
  const div = document.createElement('div');
  div.className = 'frame';
  const shown = f.ciphertext.subarray(0, 40);
  const clear = shown.subarray(0, f.clearPrefix);
  const head = document.createElement('i');
  head.textContent = `${f.kind}${f.frameType ? ` ${f.frameType}` : ''} · ${f.ciphertext.length} B · epoch ${f.epoch}: `;
  const b = document.createElement('b');
  b.textContent = clear.length ? `${hex(clear)} ` : '';
  div.append(head, b, document.createTextNode(`${hex(shown.subarray(f.clearPrefix))} …`));
  const wire = $('wire');
  wire.querySelector('.waiting')?.remove();
  wire.prepend(div);
  while (wire.children.length > 5) wire.lastChild.remove();
  state.wireFrames = (state.wireFrames ?? 0) + 1;
}

/** A blocking warning: the other side's identity key changed (or a key came from someone else). */
function identityWarning(detail) {
  state.identityWarning = detail;
  $('remote').style.visibility = 'hidden';
  $('warning-text').textContent =
    `The signalling server offered another security key (${detail.offered}) for the other participant, ` +
    `while ${detail.pinned} is pinned for this visit. It was refused: your media key is wrapped only to the pinned key. ` +
    'Someone may be trying to join this visit. End it and start a new one, and compare the safety code again.';
  $('warning').showModal();
  setPhase('identity-changed', 'the other participant\'s identity key changed: refused', false);
}

async function main() {
  $('who').textContent = `You are ${name} (${role}) in room “${room}”.`;
  const remoteVideo = $('remote');
  const protection = await protect(remoteVideo, {
    text: [`${name} (${role})`, `visit ${room}`],
    onAttempt: () => ($('protection').textContent = `${describe(protection)} · capture attempts blocked: ${protection.attempts}`),
  });
  $('protection').textContent = describe(protection);
  state.protection = protection;

  await phiseal.init();
  const me = await phiseal.generateKeyPair(); // this visit's identity key, non-extractable
  const senderId = crypto.getRandomValues(new Uint32Array(1))[0];
  const keyring = new MediaKeyring();
  state.keyring = keyring;
  // The visit's keys: the peer is pinned at its first "hello"; keys only from its identity, for this room.
  // Two parties, and no media key either way before both people compared the safety code.
  const secure = new SecureCall({ call: `telehealth:${room}`, identity: me, senderId, keyring, maxParticipants: 1, requireVerified: true });
  state.secure = secure;
  await secure.start();
  secure.addEventListener('identitychange', (e) => identityWarning(e.detail));
  secure.addEventListener('refused', (e) => {
    state.refused.push({ code: e.detail.code, message: e.detail.message });
    $('refused').textContent = `${state.refused.length} media key(s) refused (last: ${e.detail.code}): not from the verified participant`;
  });
  $('warning-end').onclick = () => $('hangup').click();
  $('warning').addEventListener('cancel', (e) => e.preventDefault()); // Escape does not dismiss it
  keyring.addEventListener('counters', (e) => showCounters(e.detail));
  keyring.addEventListener('frame', (e) => showFrame(e.detail));
  $('mykid').textContent = me.publicKey.kid;

  // Every sender and receiver gets SFrame before negotiation starts, so no
  // frame is ever sent or decoded without it. (createSecurePeerConnection
  // attaches receivers in the `track` event; in Chromium 156 a transform set
  // there on the receiver of a two-way transceiver is not applied, so this
  // visit attaches both ends of each transceiver right after addTrack.)
  if (!e2eeSupport().supported) throw new Error('this browser cannot encrypt media end to end: the visit does not start');
  const pc = new RTCPeerConnection(await secureConnectionConfig());
  state.pc = pc;
  const local = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  $('local').srcObject = local;
  for (const track of local.getTracks()) {
    const sender = pc.addTrack(track, local);
    const transceiver = pc.getTransceivers().find((t) => t.sender === sender);
    attachE2EE(sender, { keyring, kind: track.kind });
    attachE2EE(transceiver.receiver, { keyring, kind: track.kind });
  }
  const vp8 = RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => c.mimeType === 'video/VP8');
  for (const t of pc.getTransceivers()) if (t.sender.track?.kind === 'video') t.setCodecPreferences(vp8);

  const remote = new MediaStream();
  pc.ontrack = (e) => {
    remote.addTrack(e.track);
    remoteVideo.srcObject = remote;
  };
  const countFrames = () => {
    state.remoteFrames++;
    remoteVideo.requestVideoFrameCallback(countFrames);
  };
  remoteVideo.requestVideoFrameCallback(countFrames);
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'connected') setPhase('connected', 'connected: media end-to-end encrypted with SFrame');
    if (pc.connectionState === 'failed') setPhase('failed', 'connection failed', false);
  };

  const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api/signal?room=${encodeURIComponent(room)}`);
  const send = (m) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
  const pendingIce = [];
  let lastRekey = -Infinity;
  const sendKeys = (wraps) => wraps.forEach((w) => send({ type: 'key', wrapped: w })); // plain JSON

  const handlers = {
    joined: (m) => setPhase('waiting', m.participants === 1 ? 'waiting for the other participant to join…' : 'joined'),
    ready: async (m) => {
      send({ type: 'hello', name, role, senderId, jwk: me.publicKey.toJwk() });
      if (m.initiator) {
        await pc.setLocalDescription(await pc.createOffer());
        send({ type: 'offer', sdp: pc.localDescription.sdp });
      }
    },
    hello: async (m) => {
      const peerKey = phiseal.importPublicKey(m.jwk);
      // Pins the first identity; another key later is refused (identitychange -> blocking warning).
      let wraps;
      try {
        wraps = await secure.admit({ publicKey: peerKey, senderId: m.senderId });
      } catch (e) {
        if (e.code === 'UNTRUSTED_AUTHOR') return; // shown by the identitychange event; nothing is sent to that key
        throw e;
      }
      if (state.peer === null) {
        state.peer = { name: String(m.name), role: String(m.role), kid: peerKey.kid, senderId: m.senderId };
        state.code = (await secure.safetyCode()).code;
        $('peer').textContent = `${state.peer.name} (${state.peer.role}), key ${peerKey.kid}`;
        $('code').textContent = state.code;
        $('verify').disabled = false;
        setPhase('verify', 'compare the safety code with the other participant, then press "The codes match": media starts after both did');
      }
      sendKeys(wraps);
    },
    key: async (m) => {
      // Only a wrap the pinned identity made for this visit (HPKE auth mode); anything else is refused and counted.
      let got;
      try {
        got = await secure.acceptKey(m.wrapped);
      } catch {
        return;
      }
      if (got.held) {
        state.keyHeld = true; // authentic, installed once we verify
        return;
      }
      state.keyFromPeer = true;
      $('forget').disabled = false;
    },
    'key-request': async () => {
      // A new random key at the next epoch, wrapped to the pinned, verified peer only; at most one every 2 s
      // (a server flooding requests cannot burn through the sender's epochs).
      if (state.peer === null || !state.verified || performance.now() - lastRekey < 2000) return;
      lastRekey = performance.now();
      sendKeys(await secure.rekey());
    },
    offer: async (m) => {
      await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      for (const c of pendingIce.splice(0)) await pc.addIceCandidate(c).catch(() => {});
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: 'answer', sdp: pc.localDescription.sdp });
    },
    answer: async (m) => {
      await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
      for (const c of pendingIce.splice(0)) await pc.addIceCandidate(c).catch(() => {});
    },
    ice: async (m) => {
      if (pc.remoteDescription) await pc.addIceCandidate(m.candidate).catch(() => {});
      else pendingIce.push(m.candidate);
    },
    'peer-left': () => setPhase('ended', 'the other participant left', false),
    bye: () => setPhase('ended', 'the other participant hung up', false),
  };
  // Messages are handled one at a time, in order.
  let queue = Promise.resolve();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    queue = queue.then(() => handlers[m.type]?.(m)).catch((err) => {
      state.error = err.message;
      setPhase('error', `${m.type}: ${err.code ?? ''} ${err.message}`, false);
    });
  };
  ws.onclose = (e) => {
    if (state.phase === 'starting' || state.phase === 'waiting') setPhase('error', `signaling closed (${e.code}): is the room full?`, false);
  };
  pc.onicecandidate = (e) => e.candidate && send({ type: 'ice', candidate: e.candidate.toJSON() });

  // The wire panel: one encrypted frame every 700 ms, as the worker hands it to the packetizer.
  // (state.wirePaused lets a test take the tap for itself.)
  let tick = 0;
  setInterval(() => state.wirePaused || keyring.tapFrames({ count: 1, kind: tick++ % 3 ? 'video' : 'audio' }).catch(() => {}), 700);

  $('forget').onclick = async () => {
    await keyring.removeKey(state.peer.senderId);
    state.keyFromPeer = false;
    $('forget').disabled = true;
    $('rekey').disabled = false;
    setPhase('no-key', 'you dropped the other side\'s key: its frames arrive but cannot be decrypted, so the picture freezes', false);
  };
  $('rekey').onclick = () => {
    send({ type: 'key-request' });
    $('rekey').disabled = true;
    setPhase('connected', 'asked for a new key: it arrives wrapped to your P-384 key');
  };
  $('verify').onclick = async () => {
    $('verify').disabled = true;
    sendKeys(await secure.verify(state.peer.senderId)); // our key goes out now; theirs, if it came, is installed now
    state.verified = true;
    if (state.keyHeld) {
      state.keyFromPeer = true;
      $('forget').disabled = false;
    }
    $('verified').textContent = 'verified: you compared the code with the other participant';
  };
  $('hangup').onclick = () => {
    send({ type: 'bye' });
    ws.close();
    pc.close();
    keyring.close();
    secure.close();
    local.getTracks().forEach((t) => t.stop());
    setPhase('ended', 'you hung up', false);
  };
  addEventListener('pagehide', () => send({ type: 'bye' }));
}

main().catch((e) => {
  state.error = e.message;
  setPhase('error', `${e.name}: ${e.code ?? ''} ${e.message}`, false);
});
