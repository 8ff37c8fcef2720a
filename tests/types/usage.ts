// Compile-only check of js/index.d.ts (tests/js/types.test.mjs runs tsc on it).
import {
  Aead, ErrorCode, IndexKeyset, Kdf, Keyset, PhisealError, generateIndexKey, generateKeyPair, hpkeOpen, hpkeSeal,
  hpkeSetupSender, importPublicKey, init, openRecord, reencryptRecords, searchTokens, sealRecord, verifyAllPhiEncrypted,
  type Schema, AuditLog, SigningKey, SessionKey, verifyLog, defineSchema,
} from '../../js/index.js';
import { MediaKeyring, generateBaseKey, unwrapBaseKey, wrapBaseKey, type MediaCounters, type WrappedBaseKey } from '../../js/media.js';
import { decryptStream, encryptStream } from '../../js/stream.js';
import { Watermark, decodeForensicMark, watermarkTrack, type WatermarkEvent } from '../../js/watermark.js';
import { CaptureGuard, type CaptureAttempt } from '../../js/guard.js';

export async function usage(): Promise<string[]> {
  await init();
  const attempts: CaptureAttempt[] = [];
  const guard = CaptureGuard.install({ mode: 'block', onAttempt: (a) => attempts.push(a), allow: (r) => r.api === 'MediaRecorder' && r.detail === undefined, privacy: { copy: 'audit' } });
  const video: HTMLVideoElement = guard.protect(document.createElement('video'));
  guard.protect(new MediaStream().getVideoTracks()[0]);
  const stop = guard.onAttempt((a) => a.blocked && a.stack?.length);
  if (guard.isProtected(video) && guard.events().length > attempts.length && guard.active && guard.mode === 'audit') stop();
  const { privateKey, publicKey } = await generateKeyPair({ extractable: false, provider: 'auto' });
  const pk = importPublicKey(publicKey.toJwk());
  const { enc, ciphertext } = await hpkeSeal(pk, new Uint8Array([1]), { info: new Uint8Array(), kdf: Kdf.HKDF_SHA384, aead: Aead.AES_256_GCM });
  const pt: Uint8Array = await hpkeOpen(privateKey, enc, ciphertext);
  const { context } = await hpkeSetupSender(pk);
  context.seal(pt);
  const schema: Schema = { id: 'x', version: 1, fields: { 'a.b': true, 'c[]': { mode: 'blindIndex', bits: 16, group: 'g' } } };
  const indexKeys = new IndexKeyset([await generateIndexKey()]);
  const sealed = await sealRecord({ a: { b: 1 }, c: ['x'] }, { schema, recordId: 'r', recipients: [publicKey], indexKey: indexKeys });
  const keyset = new Keyset([privateKey]);
  const { record, locked } = await openRecord(sealed, { schema, privateKey: keyset, indexKey: indexKeys });
  await reencryptRecords([sealed], { schema, privateKey: keyset, indexKeys, directory: [keyset.primaryPublicKey] });
  try {
    verifyAllPhiEncrypted(record, schema);
  } catch (e) {
    if (e instanceof PhisealError && e.code === ErrorCode.DECRYPT_FAILED) return [];
  }
  const log = new AuditLog({ signingKey: SigningKey.generate(), clock: () => 0 });
  log.append({ actor: { id: 'u' }, action: 'view' });
  const report = verifyLog(log.toJsonl(), []);
  await openRecord(sealed, { schema, privateKey: new SessionKey(privateKey, { ttlMs: 1000 }) });
  if (!report.valid) return [];
  const ring = new MediaKeyring();
  await ring.setSendKey(1, 0, generateBaseKey());
  await wrapBaseKey(generateBaseKey(), [publicKey], { senderId: 1 });
  const encStream = encryptStream(new Blob([new Uint8Array(3)]), { recipients: [publicKey] });
  decryptStream(encStream, { privateKey });
  const events: WatermarkEvent[] = [];
  const mark = Watermark.attach('#video', { text: (now) => ['u-1', now.toISOString()], forensic: { id: 7 }, onTamper: (e) => events.push(e), failurePolicy: 'hide' });
  mark.update({ opacity: 0.2 });
  const marked = watermarkTrack(new MediaStreamTrack(), { text: 'u-1', method: 'auto' });
  const found = decodeForensicMark(new ImageData(1, 1));
  if (found && found.id === 7 && marked.watermarkStats().frames > 0) mark.detach();
  // Strict-mode ergonomics (issue "first hour"): what must and must not type-check.
  interface Intake { patient: { name: string; ssn: string } }
  const form: Intake = { patient: { name: 'A', ssn: '1' } };
  const literal = defineSchema({ id: 'i', version: 1, fields: { 'patient.ssn': { mode: 'blindIndex', group: 'billing' } } });
  const sealedForm = await sealRecord(form, { schema: literal, recordId: 'i-1', recipients: [publicKey] });
  const opened = await openRecord<Intake>(sealedForm, { schema: literal, privateKey });
  const name: string = opened.record.patient.name;
  const satisfied = { id: 'i', version: 1, fields: { a: { mode: 'deterministic' } } } satisfies Schema;
  verifyAllPhiEncrypted(sealedForm, satisfied);
  // @ts-expect-error a look-alike object with a kid is not a private key
  await openRecord(sealedForm, { schema: literal, privateKey: { kid: 'x' } });
  // @ts-expect-error recipients are public keys
  await sealRecord(form, { schema: literal, recordId: 'i-2', recipients: [privateKey] });
  guard.protect(document.querySelector('video#remote'));
  const blob = new Blob([enc, ciphertext, publicKey.toSpki()]);
  const wire: WrappedBaseKey[] = JSON.parse(JSON.stringify(await wrapBaseKey(generateBaseKey(), [publicKey], { senderId: 2 })));
  const { baseKey } = await unwrapBaseKey(privateKey, wire);
  await ring.setKey(2, 0, baseKey);
  const counters: MediaCounters = await ring.getCounters();
  if (blob.size < 0 || counters.encrypted < 0 || name === '') return [];
  return [...locked.map((l) => l.path), ...searchTokens('x', { schema, path: 'c[]', indexKeys })];
}
