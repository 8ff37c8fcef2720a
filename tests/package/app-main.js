// The smoke app a frontend developer would write: every capability through
// its public entry point, nothing else. Bundled by Vite and webpack, or loaded
// as plain ES modules with an import map (tests/package/run.mjs).
import { AuditLog, ErrorCode, VersionStore, capabilities, generateAuthorKey, generateKeyPair, init, openRecord, sealRecord, verifyLog } from 'phiseal';
import { MediaKeyring, e2eeSupport, generateBaseKey } from 'phiseal/media';
import { decryptBlob, encryptBlob } from 'phiseal/stream';
import { CaptureGuard } from 'phiseal/guard';
import { Watermark, watermarkTrack } from 'phiseal/watermark';

const SCHEMA = { id: 'intake', version: 1, fields: { 'patient.name': true, 'patient.ssn': true } };
const RECORD = { patient: { name: 'Ana Souza', ssn: '123-45-6789' }, visit: 7 };

window.smoke = async () => {
  const out = {};
  await init();
  const { privateKey, publicKey } = await generateKeyPair();
  const author = await generateAuthorKey();
  const context = { patientId: 'p-1' };
  const sealed = await sealRecord(RECORD, { schema: SCHEMA, recordId: 'r1', context, recipients: [publicKey], author });
  const versions = await VersionStore.open({ name: `smoke-versions-${Date.now()}` });
  const expect = { schema: SCHEMA, privateKey, recordId: 'r1', context, authors: [author.publicKey], versions };
  const opened = await openRecord(sealed, expect);
  out.fields = !JSON.stringify(sealed).includes('Ana Souza') && JSON.stringify(opened.record) === JSON.stringify(RECORD)
    && opened.author.kid === author.kid && author.provider === 'webcrypto' && author.extractable === false;
  // The same record asked for under another patient is refused with a typed error.
  const refused = await openRecord(sealed, { ...expect, context: { patientId: 'p-2' } }).then(() => 'opened', (e) => e.code);
  out.fieldsRefusal = refused === ErrorCode.CONTEXT_MISMATCH;
  versions.close();
  const log = new AuditLog();
  log.append({ actor: { id: 'dr-1', role: 'clinician' }, action: 'view', resource: 'r1' });
  out.audit = verifyLog(log.toJsonl(), []).valid;
  const ring = new MediaKeyring();
  await ring.setSendKey(1, 0, generateBaseKey());
  out.mediaWorker = typeof (await ring.getCounters())?.encrypted === 'number';
  ring.close();
  out.frameTransform = e2eeSupport().supported;
  const data = new Uint8Array(100_000).map((_, i) => i * 7);
  const blob = await encryptBlob(new Blob([data]), { recipients: [publicKey], author });
  const back = new Uint8Array(await (await decryptBlob(blob, { privateKey, authors: [author.publicKey] })).arrayBuffer());
  out.stream = back.length === data.length && back.every((b, i) => b === data[i]);
  out.guard = typeof CaptureGuard.install === 'function';
  const div = document.createElement('div');
  div.textContent = 'PHI';
  document.body.append(div);
  const mark = Watermark.attach(div, { text: 'dr-1' });
  out.watermark = typeof mark.detach === 'function';
  mark.detach();
  // A burned-in mark: the frames are marked in the watermark worker.
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 180;
  const cx = canvas.getContext('2d');
  cx.fillRect(0, 0, 320, 180);
  const tick = setInterval(() => cx.fillRect(Math.random() * 10, 0, 1, 1), 50);
  const marked = watermarkTrack(canvas.captureStream(10).getVideoTracks()[0], { text: 'dr-1' });
  const video = document.createElement('video');
  video.muted = true;
  video.srcObject = new MediaStream([marked]);
  await video.play();
  for (let i = 0; i < 50 && !(marked.watermarkStats().frames > 0 && marked.watermarkStats().method === 'processor-worker'); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  out.burnInWorker = marked.watermarkStats().method === 'processor-worker' && marked.watermarkStats().frames > 0;
  clearInterval(tick);
  marked.stop();
  out.capabilities = capabilities();
  out.wasmFiles = performance.getEntriesByType('resource').filter((e) => /\.wasm($|\?)/.test(e.name)).length;
  return out;
};
window.appReady = true;
