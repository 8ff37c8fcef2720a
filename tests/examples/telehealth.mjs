// End-to-end test of examples/telehealth: two pages (clinician, patient) with
// Chromium's fake camera join one room through the signaling server, agree
// keys, and call. Checks: the remote video decodes on both sides, the SFrame
// counters grow, frames on the wire are ciphertext, a receiver without the
// key decodes nothing, the watermark is visible over the remote video, and
// a malicious signalling server (the test routes the clinician's WebSocket
// through itself: swapped "hello", key wraps of its own) is refused.
// Called by run.mjs.
import { assert, decodePng, differingShare, screenshot, until } from './support.mjs';

/** The remote <video>'s box on screen, as a screenshot clip. */
async function remoteClip(page) {
  const box = await page.locator('#remote').boundingBox();
  return { x: Math.ceil(box.x) + 1, y: Math.ceil(box.y) + 1, width: Math.floor(box.width) - 2, height: Math.floor(box.height) - 2 };
}

/**
 * Luma mean and variance of the remote video as the screen shows it (a
 * screenshot: the capture guard rightly blocks reading its pixels from the page).
 */
async function remotePicture(page) {
  const img = decodePng(await page.screenshot({ clip: await remoteClip(page) }));
  let sum = 0;
  let sq = 0;
  const n = img.width * img.height;
  for (let i = 0; i < img.data.length; i += 4) {
    const y = 0.299 * img.data[i] + 0.587 * img.data[i + 1] + 0.114 * img.data[i + 2];
    sum += y;
    sq += y * y;
  }
  const info = await page.evaluate(() => ({ frames: window.visit.remoteFrames, width: document.getElementById('remote').videoWidth }));
  return { mean: sum / n, variance: sq / n - (sum / n) ** 2, ...info };
}

const counters = (page) => page.evaluate(() => window.visit.keyring.getCounters());

export async function telehealthTests({ context, url, check }) {
  const room = `e2e-${Date.now().toString(36)}`;
  // The clinician's signalling goes through this test, which relays it
  // faithfully (and records it) until it plays the malicious server.
  const wire = { toPage: [], fromPage: [], route: null };
  const open = async (role, name, routed = false) => {
    const page = await context.newPage();
    if (routed) {
      await page.routeWebSocket(/\/api\/signal/, (ws) => {
        const server = ws.connectToServer();
        wire.route = ws;
        ws.onMessage((m) => {
          wire.fromPage.push(JSON.parse(m));
          server.send(m);
        });
        server.onMessage((m) => {
          wire.toPage.push(JSON.parse(m));
          ws.send(m);
        });
      });
    }
    page.on('pageerror', (e) => console.error(`telehealth ${role} page error:`, e.message));
    await page.goto(`${url}/examples/telehealth/visit.html?${new URLSearchParams({ room, role, name })}`);
    return page;
  };
  const clinician = await open('clinician', 'Dr. Maya Lee', true);
  const patient = await open('patient', 'Ana Souza');
  const both = [clinician, patient];
  const shots = [];

  await check('telehealth: both pages show the same safety code; no media key leaves a page before its user verified it', async () => {
    for (const p of both) await p.waitForFunction(() => window.visit.code !== null || window.visit.error, null, { timeout: 30_000 });
    const [a, b] = await Promise.all(both.map((p) => p.evaluate(() => ({ code: window.visit.code, error: window.visit.error, peer: window.visit.peer }))));
    assert(!a.error && !b.error, `errors: ${a.error ?? ''} ${b.error ?? ''}`);
    assert(a.code && a.code === b.code && /^\d{5}( \d{5}){7}$/.test(a.code), `safety codes differ: ${a.code} / ${b.code}`);
    assert(a.peer.role === 'patient' && b.peer.role === 'clinician', 'each page should see the other role');
    await clinician.waitForTimeout(1_000);
    const early = wire.fromPage.filter((m) => m.type === 'key');
    assert(early.length === 0, `the clinician page sent ${early.length} media key(s) before verification`);
    const before = await clinician.evaluate(() => window.visit.keyFromPeer);
    assert(before === false, 'a key was installed before verification');
    for (const p of both) await p.click('#verify');
    for (const p of both) {
      await p.waitForFunction(() => (window.visit.phase === 'connected' && window.visit.keyFromPeer) || window.visit.error, null, { timeout: 30_000 });
    }
    const err = await Promise.all(both.map((p) => p.evaluate(() => window.visit.error)));
    assert(!err[0] && !err[1], `errors after verification: ${err.join(' ')}`);
    return `code ${a.code}; keys exchanged only after both pressed "The codes match"`;
  });

  await check('telehealth: a third participant is refused by the signaling server', async () => {
    const third = await open('patient', 'Mallory');
    try {
      await third.waitForFunction(() => window.visit.phase === 'error', null, { timeout: 15_000 });
      return await third.textContent('#status');
    } finally {
      await third.close();
    }
  });

  await check('telehealth: the remote video decodes on both sides (frames counted, picture not black)', async () => {
    const out = [];
    for (const p of both) {
      await p.bringToFront(); // a background page renders (and counts) few frames
      await p.waitForFunction(() => window.visit.remoteFrames > 30 && window.visit.counters?.video.decrypted > 30, null, { timeout: 30_000 });
      const pic = await remotePicture(p);
      assert(pic.width > 0, 'no decoded video size');
      assert(pic.mean > 20 && pic.variance > 50, `picture looks blank: mean ${pic.mean.toFixed(1)}, variance ${pic.variance.toFixed(1)}`);
      out.push(`${pic.frames} frames, luma ${pic.mean.toFixed(0)}±${Math.sqrt(pic.variance).toFixed(0)}`);
    }
    return out.join('; ');
  });

  await check('telehealth: SFrame counters grow and the wire panel shows encrypted frames', async () => {
    const before = await counters(clinician);
    await until(async () => (await counters(clinician)).encrypted > before.encrypted + 20, 10_000, 'more encrypted frames');
    const after = await counters(clinician);
    const peer = await counters(patient);
    assert(after.failed.auth === 0, `authentication failures: ${after.failed.auth}`);
    assert(peer.video.decrypted > 30 && peer.audio.decrypted > 30, `patient decrypted video ${peer.video.decrypted}, audio ${peer.audio.decrypted}`);
    await clinician.waitForFunction(() => document.querySelectorAll('#wire .frame').length >= 2, null, { timeout: 10_000 });
    const wire = await clinician.textContent('#wire');
    assert(/([0-9a-f]{2} ){8}/.test(wire), 'no hex bytes in the wire panel');
    return `clinician encrypted ${before.encrypted} -> ${after.encrypted}; patient decrypted ${peer.decrypted}`;
  });

  await check('telehealth: frames on the wire are ciphertext (compared with the frame before encryption)', async () => {
    const frames = await clinician.evaluate(async () => {
      const got = [];
      const ring = window.visit.keyring;
      window.visit.wirePaused = true; // the page's own wire panel would take over the tap
      await new Promise((r) => setTimeout(r, 800));
      const done = new Promise((resolve, reject) => {
        setTimeout(() => reject(new Error(`only ${got.length} tapped frames in 10 s`)), 10_000);
        const on = (e) => {
          if (e.detail.plaintext) got.push(e.detail);
          if (got.length >= 4) {
            ring.removeEventListener('frame', on);
            resolve();
          }
        };
        ring.addEventListener('frame', on);
      });
      await ring.tapFrames({ count: 4, plaintext: true, kind: 'video' });
      try {
        await done;
      } finally {
        window.visit.wirePaused = false;
      }
      return got.map((f) => ({ clear: f.clearPrefix, ct: [...f.ciphertext], pt: [...f.plaintext] }));
    });
    for (const f of frames) {
      const body = f.pt.slice(f.clear);
      assert(f.ct.length > f.pt.length, 'no SFrame header and tag added');
      // No 8-byte run of the encrypted part of the frame appears in what is sent.
      const sent = Buffer.from(f.ct.slice(f.clear));
      for (let i = 0; i + 8 <= body.length; i += 8) {
        assert(!sent.includes(Buffer.from(body.slice(i, i + 8))), `plaintext bytes at ${f.clear + i} are on the wire`);
      }
    }
    return `${frames.length} video frames, ${frames.map((f) => f.ct.length).join('/')} bytes`;
  });

  await check('telehealth: without the key the receiver decodes nothing; a new HPKE-wrapped key restores the picture', async () => {
    await patient.click('#forget');
    await patient.waitForFunction(() => window.visit.phase === 'no-key', null, { timeout: 5_000 });
    const a = await counters(patient);
    await until(async () => (await counters(patient)).failed.unknownKey > a.failed.unknownKey + 20, 10_000, 'frames dropped for lack of a key');
    const b = await counters(patient);
    assert(b.decrypted - a.decrypted <= 2, `decrypted ${b.decrypted - a.decrypted} frames without the key`);
    await patient.click('#rekey');
    await patient.waitForFunction(() => window.visit.keyFromPeer === true, null, { timeout: 10_000 });
    await until(async () => (await counters(patient)).video.decrypted > b.video.decrypted + 10, 15_000, 'decryption after the new key');
    const c = await counters(clinician);
    return `dropped ${b.failed.unknownKey - a.failed.unknownKey} frames without the key; clinician now sends at epoch ${c.sendEpoch}`;
  });

  await check('telehealth: capture guard on and the viewer\'s watermark visible over the remote video', async () => {
    const protection = await patient.evaluate(() => window.visit.protection);
    for (const [p, name] of [[clinician, 'telehealth-clinician'], [patient, 'telehealth-patient']]) shots.push(await screenshot(p, name));
    // Freeze the remote picture and compare the screen over the video with
    // the mark and after the app detaches it (Watermark#detach, public API):
    // the watermark is the difference.
    await patient.evaluate(() => document.getElementById('remote').pause());
    await patient.waitForTimeout(300);
    const clip = await remoteClip(patient);
    const marked = decodePng(await patient.screenshot({ clip }));
    const detached = await patient.evaluate(() => {
      const mark = window.visit.protection.mark;
      if (!mark) return false;
      mark.detach();
      return true;
    });
    await patient.waitForTimeout(300);
    const bare = decodePng(await patient.screenshot({ clip }));
    const share = detached ? differingShare(marked, bare, 24) : 0;
    const detail = `${(share * 100).toFixed(2)}% of the video's pixels changed by the mark`;
    assert(protection.guard && protection.watermark, `protection: ${JSON.stringify(protection)} (${detail})`);
    assert(share > 0.01, `watermark not visible: ${detail}`);
    return detail;
  });

  await check('telehealth: a malicious signalling server cannot inject a media key or swap the patient\'s identity key', async () => {
    const phiseal = await import('../../js/index.js');
    await phiseal.init();
    const media = await import('../../js/media.js');
    const helloFrom = (list) => list.find((m) => m.type === 'hello');
    const patientHello = helloFrom(wire.toPage);
    const clinicianHello = helloFrom(wire.fromPage);
    assert(patientHello && clinicianHello && wire.route, 'the clinician\'s signalling was not routed through the test');
    const clinicianKey = phiseal.importPublicKey(clinicianHello.jwk);
    const patientKey = phiseal.importPublicKey(patientHello.jwk);
    const server = await phiseal.generateKeyPair();
    const serverBaseKey = media.generateBaseKey();
    const call = `telehealth:${room}`;
    const inject = (m) => wire.route.send(JSON.stringify(m));
    const before = await counters(clinician);
    // 1-3: key wraps of the server's own base key for the patient's sender id at a higher epoch.
    const [own] = await media.wrapBaseKey(serverBaseKey, [clinicianKey], { senderKey: server.privateKey, call, senderId: patientHello.senderId, epoch: 50 });
    const te = new TextEncoder();
    const aad = new Uint8Array(18);
    new DataView(aad.buffer).setUint16(0, 4);
    new DataView(aad.buffer).setBigUint64(2, BigInt(patientHello.senderId));
    new DataView(aad.buffer).setBigUint64(10, 50n);
    const v1 = await phiseal.hpkeSeal(clinicianKey, serverBaseKey, { info: te.encode('phiseal-sframe-key-v1'), aad });
    const b64 = (u8) => Buffer.from(u8).toString('base64url');
    for (const wrapped of [
      own,
      { ...own, sender: patientKey.kid },
      { v: 1, recipient: clinicianKey.kid, suite: 4, senderId: patientHello.senderId, epoch: 50, enc: b64(v1.enc), ciphertext: b64(v1.ciphertext) },
    ]) {
      inject({ type: 'key', wrapped });
    }
    await clinician.waitForFunction(() => window.visit.refused.length >= 3, null, { timeout: 10_000 });
    const refused = await clinician.evaluate(() => window.visit.refused.map((r) => r.code));
    assert(refused.join() === 'UNTRUSTED_AUTHOR,DECRYPT_FAILED,UNSUPPORTED', `refusals: ${refused.join()}`);
    // The patient's frames still decrypt: its key was not replaced.
    await until(async () => (await counters(clinician)).video.decrypted > before.video.decrypted + 20, 10_000, 'the patient\'s frames after the injected keys');
    const injectedWarning = await clinician.evaluate(() => window.visit.identityWarning);
    assert(injectedWarning?.offered === server.publicKey.kid, `the injected wrap named the server's key but no identity warning: ${JSON.stringify(injectedWarning)}`);
    // 4: a "hello" as a new participant (another sender id) in this two-party visit.
    await clinician.evaluate(() => {
      window.visit.identityWarning = null;
      document.getElementById('warning').close();
    });
    const newcomer = await phiseal.generateKeyPair();
    const sentBeforeNewcomer = wire.fromPage.length;
    inject({ ...patientHello, senderId: patientHello.senderId + 1, jwk: newcomer.publicKey.toJwk() });
    await clinician.waitForFunction(() => window.visit.identityWarning !== null, null, { timeout: 10_000 });
    const newcomerWarning = await clinician.evaluate(() => window.visit.identityWarning);
    assert(newcomerWarning.offered === newcomer.publicKey.kid, `no warning for a newcomer: ${JSON.stringify(newcomerWarning)}`);
    await clinician.waitForTimeout(500);
    assert(!wire.fromPage.slice(sentBeforeNewcomer).some((m) => m.type === 'key'), 'a media key was wrapped to the newcomer');
    // 5: a second "hello" with the server's public key for the patient.
    await clinician.evaluate(() => {
      window.visit.identityWarning = null;
      document.getElementById('warning').close();
    });
    const sentBefore = wire.fromPage.length;
    const other = await phiseal.generateKeyPair();
    inject({ ...patientHello, jwk: other.publicKey.toJwk() });
    await clinician.waitForFunction(() => window.visit.identityWarning !== null, null, { timeout: 10_000 });
    const shown = await clinician.evaluate(() => ({
      warning: window.visit.identityWarning,
      open: document.getElementById('warning').open,
      text: document.getElementById('warning-text').textContent,
      phase: window.visit.phase,
      peer: window.visit.peer.kid,
    }));
    assert(shown.open && shown.phase === 'identity-changed' && shown.warning.offered === other.publicKey.kid, `no blocking warning: ${JSON.stringify(shown)}`);
    assert(shown.peer === patientKey.kid, 'the pinned peer changed');
    await clinician.waitForTimeout(1_000);
    const leaked = wire.fromPage.slice(sentBefore).filter((m) => m.type === 'key' && m.wrapped.recipient !== patientKey.kid);
    assert(leaked.length === 0, `the page wrapped its media key to the swapped key: ${JSON.stringify(leaked)}`);
    shots.push(await screenshot(clinician, 'telehealth-identity-warning'));
    return `refused ${refused.join(', ')}; newcomer hello and swapped hello -> blocking warning, no key sent to either`;
  });

  for (const p of both) await p.close();
  return shots;
}
