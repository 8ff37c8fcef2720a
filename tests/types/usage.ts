// Compile-only check of js/index.d.ts (tests/js/types.test.mjs runs tsc on it).
import {
  Aead, ErrorCode, IndexKeyset, Kdf, Keyset, PhisealError, generateIndexKey, generateKeyPair, hpkeOpen, hpkeSeal,
  hpkeSetupSender, importPublicKey, init, openRecord, reencryptRecords, searchTokens, sealRecord, verifyAllPhiEncrypted,
  type Schema, AuditLog, SigningKey, SessionKey, verifyLog, defineSchema,
  AuthorKey, KeyStore, MemoryVersionStore, VersionStore, generateAuthorKey, importAuthorKey, inspectRecord, openIndexKey,
  openRecords, rewrapRecord, sealIndexKey, sealRecords, type EncryptionContext, type OpenedHeader, type OpenedRecord,
  type PublicKey, type RecordHeader, type VersionTracker,
  DirectoryClient, KeyDirectory, Trust, issueCertificate, issueRevocations, monitorDirectory, type CertifiedKey,
} from '../../js/index.js';
import * as fieldsEntry from '../../js/fields-entry.js';
import { MediaKeyring, SecureCall, callSafetyCode, generateBaseKey, unwrapBaseKey, wrapBaseKey, type IdentityChange, type MediaCounters, type WrappedBaseKey } from '../../js/media.js';
import { decryptStream, encryptStream } from '../../js/stream.js';
import { Watermark, decodeForensicMark, watermarkTrack, type WatermarkEvent } from '../../js/watermark.js';
import { CaptureGuard, type CaptureAttempt } from '../../js/guard.js';
import { FhirGroup, FhirSearch, fhirPatientSchema, fhirSchema, fromFhirAuditEvents, toFhirAuditEvents } from '../../js/fhir.js';

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
  const fhir: Schema = fhirSchema;
  const patientSide: Schema = fhirPatientSchema;
  const auditBundle = toFhirAuditEvents('', { transaction: true });
  const back: { jsonl: string; skipped: number } = fromFhirAuditEvents(auditBundle.entry?.map((e) => e.resource ?? { resourceType: 'Basic' }) ?? [], { logId: 'l' });
  if (back.skipped < 0 || patientSide.id !== 'phiseal/fhir-r4-patient') throw new Error('types');
  const typed = defineSchema({ id: 'fhir', version: 1, resources: { Patient: { 'deceased[x]': { group: FhirGroup.IDENTITY }, '**.text': true } } });
  if (fhir.resources && typed.resources && FhirSearch.identifier.startsWith('[Patient]')) verifyAllPhiEncrypted({}, typed);
  const indexKeys = new IndexKeyset([await generateIndexKey()]);
  const author: AuthorKey = await generateAuthorKey({ provider: 'auto' });
  const trusted: PublicKey[] = [author.publicKey];
  // Certified keys and the transparent directory (docs/TRUST.md): verification is asynchronous.
  const root = SigningKey.generate();
  const cert: string = issueCertificate({ subject: 'dr-lee', name: 'Dr. Lee', role: 'clinician', groups: ['g'], purposes: ['encrypt'], notBefore: Date.now(), notAfter: new Date(), publicKey }, root);
  const keyDirectory = new KeyDirectory({ origin: 'keys.example', signingKey: root });
  keyDirectory.publish('dr-lee', cert);
  const directoryClient = new DirectoryClient({ origin: 'keys.example', keys: [root.publicKey] });
  const trust = new Trust({ roots: [root.publicKey], revocations: issueRevocations([], root, { expires: Date.now() + 1000 }), directory: directoryClient });
  const looked: string = await directoryClient.verify('dr-lee', keyDirectory.lookup('dr-lee', { keptSize: directoryClient.keptSize }));
  const certified: CertifiedKey = await trust.certify(looked, { purpose: 'encrypt', groups: ['g'] });
  await sealRecord({ a: { b: 1 } }, { schema, recordId: 'r', recipients: [{ certificate: looked, groups: certified.groups }], author, trust });
  monitorDirectory({ origin: 'keys.example', keys: [root.publicKey], checkpoint: keyDirectory.checkpoint(), entries: keyDirectory.entries(), subject: 'dr-lee' });
  // @ts-expect-error certify is asynchronous: it resolves to the certified key
  const notYet: CertifiedKey = trust.certify(looked, { purpose: 'encrypt' });
  // @ts-expect-error a directory lookup verifies asynchronously
  const notYetCert: string = directoryClient.verify('dr-lee', keyDirectory.lookup('dr-lee'));
  const encryptionContext: EncryptionContext = { patientId: 'p-1' };
  const sealed = await sealRecord({ a: { b: 1 }, c: ['x'] }, { schema, recordId: 'r', context: encryptionContext, recipients: [publicKey], indexKey: indexKeys, author });
  const keyset = new Keyset([privateKey]);
  const versions: VersionTracker = new MemoryVersionStore();
  const { record, locked, header } = await openRecord(sealed, { schema, privateKey: keyset, indexKey: indexKeys, recordId: 'r', context: encryptionContext, authors: trusted, versions, minVersion: 1 });
  const opened: OpenedHeader = header;
  const clear: RecordHeader = inspectRecord(sealed);
  const next = await sealRecord(record, { schema, recordId: 'r', context: encryptionContext, recipients: [publicKey], indexKey: indexKeys, author, previous: opened });
  const many: OpenedRecord<{ a: { b: number } }>[] = await openRecords<{ a: { b: number } }>(
    [{ sealed: next, recordId: 'r' }, { sealed, recordId: 'r', context: {} }],
    { schema, privateKey, indexKey: indexKeys, authors: [author], context: encryptionContext },
  );
  const n: number = many[0].record.a.b + many[0].header.version + clear.version;
  const digest: string = opened.digest;
  const kid: string = many[0].author.kid;
  const previous: string | null = opened.previous;
  await sealRecords([{ record: { a: { b: 2 } }, recordId: 'r2', context: { patientId: 'p-2' } }, { record, recordId: 'r', previous: opened }], { schema, recipients: [publicKey], author, indexKey: indexKeys });
  await rewrapRecord(sealed, { schema, privateKey, recordId: 'r', context: encryptionContext, authors: trusted, author, recipients: [publicKey, { publicKey, groups: ['g'] }] });
  await reencryptRecords([sealed], { schema, privateKey: keyset, indexKeys, directory: [keyset.primaryPublicKey], author, authors: trusted });
  const sealedIndexKey: string = await sealIndexKey(await generateIndexKey(), [publicKey], { author });
  await openIndexKey(sealedIndexKey, privateKey, { authors: [author, author.publicKey] });
  const stored = await VersionStore.open({ name: 'versions' });
  const seen = await stored.advance('k', { version: header.version, digest, previous: header.previous });
  if (seen !== undefined && seen.version > header.version) stored.close();
  const imported: AuthorKey = await importAuthorKey(await author.exportPkcs8(), { extractable: false });
  const wrapped: CryptoKey | undefined = imported.cryptoKey();
  const store = await KeyStore.open();
  const restoredAuthor: AuthorKey = await store.getAuthorKey(await store.put(author));
  const leanAuthor: fieldsEntry.AuthorKey = await fieldsEntry.generateAuthorKey();
  await fieldsEntry.openRecord(await fieldsEntry.sealRecord({ a: 1 }, { schema, recordId: 'f', recipients: [publicKey], author: leanAuthor }), {
    schema, privateKey, recordId: 'f', authors: [leanAuthor.publicKey], versions: new fieldsEntry.MemoryVersionStore(),
  });
  if (n < 0 || kid === '' || previous === '' || wrapped === undefined || restoredAuthor.kid !== author.kid) return [];
  try {
    verifyAllPhiEncrypted(record, schema);
  } catch (e) {
    if (e instanceof PhisealError && e.code === ErrorCode.DECRYPT_FAILED) return [];
  }
  const log = new AuditLog({ signingKey: SigningKey.generate(), clock: () => 0 });
  log.append({ actor: { id: 'u' }, action: 'view' });
  const report = verifyLog(log.toJsonl(), []);
  await openRecord(sealed, { schema, privateKey: new SessionKey(privateKey, { ttlMs: 1000 }), recordId: 'r', context: encryptionContext, authors: trusted });
  if (!report.valid) return [];
  const ring = new MediaKeyring();
  await ring.setSendKey(1, 0, generateBaseKey());
  await wrapBaseKey(generateBaseKey(), [publicKey], { senderKey: privateKey, call: 'c', senderId: 1 });
  // @ts-expect-error a wrap is made with the sender's identity key
  await wrapBaseKey(generateBaseKey(), [publicKey], { senderId: 1, call: 'c' });
  const encStream = encryptStream(new Blob([new Uint8Array(3)]), { recipients: [publicKey], author });
  decryptStream(encStream, { privateKey, authors: trusted });
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
  const sealedForm = await sealRecord(form, { schema: literal, recordId: 'i-1', recipients: [publicKey], author });
  const openedForm = await openRecord<Intake>(sealedForm, { schema: literal, privateKey, recordId: 'i-1', authors: [author] });
  const name: string = openedForm.record.patient.name;
  const satisfied = { id: 'i', version: 1, fields: { a: { mode: 'deterministic' } } } satisfies Schema;
  verifyAllPhiEncrypted(sealedForm, satisfied);
  // @ts-expect-error a look-alike object with a kid is not a private key
  await openRecord(sealedForm, { schema: literal, privateKey: { kid: 'x' }, recordId: 'i-1', authors: [author] });
  // @ts-expect-error recipients are public keys
  await sealRecord(form, { schema: literal, recordId: 'i-2', recipients: [privateKey], author });
  // @ts-expect-error an AuthorKey signs; it is not a recipient
  await sealRecord(form, { schema: literal, recordId: 'i-2', recipients: [author], author });
  // @ts-expect-error sealing needs the author that signs the record
  await sealRecord(form, { schema: literal, recordId: 'i-2', recipients: [publicKey] });
  // @ts-expect-error the author is an AuthorKey, not an HPKE private key
  await sealRecord(form, { schema: literal, recordId: 'i-2', recipients: [publicKey], author: privateKey });
  // @ts-expect-error opening needs the authors the reader trusts
  await openRecord(sealedForm, { schema: literal, privateKey, recordId: 'i-1' });
  // @ts-expect-error opening needs the id of the record asked for
  await openRecord(sealedForm, { schema: literal, privateKey, authors: [author] });
  // @ts-expect-error trusted authors are public keys (or AuthorKeys), not private keys
  await openRecord(sealedForm, { schema: literal, privateKey, recordId: 'i-1', authors: [privateKey] });
  // @ts-expect-error context values are strings
  await openRecord(sealedForm, { schema: literal, privateKey, recordId: 'i-1', authors: [author], context: { visit: 7 } });
  // @ts-expect-error openRecords takes {sealed, recordId} items, not bare sealed records
  await openRecords([sealedForm], { schema: literal, privateKey, authors: [author] });
  // @ts-expect-error each item of openRecords names its record id
  await openRecords([{ sealed: sealedForm }], { schema: literal, privateKey, authors: [author] });
  // @ts-expect-error sealIndexKey needs its author
  await sealIndexKey(await generateIndexKey(), [publicKey]);
  // @ts-expect-error openIndexKey needs the trusted authors
  await openIndexKey(sealedIndexKey, privateKey);
  // @ts-expect-error VersionStore is opened (IndexedDB), not constructed
  new VersionStore();
  guard.protect(document.querySelector('video#remote'));
  const blob = new Blob([enc, ciphertext, publicKey.toSpki()]);
  const wire: WrappedBaseKey[] = JSON.parse(JSON.stringify(await wrapBaseKey(generateBaseKey(), [publicKey], { senderKey: privateKey, call: 'c', senderId: 2 })));
  const { baseKey } = await unwrapBaseKey(privateKey, wire, { sender: publicKey, call: 'c' });
  // @ts-expect-error unwrapping needs the expected sender identity and call
  await unwrapBaseKey(privateKey, wire);
  const secure = new SecureCall({ call: 'c', identity: { privateKey, publicKey }, senderId: 1, keyring: ring });
  secure.addEventListener('identitychange', (e) => e instanceof CustomEvent && console.log((e.detail as IdentityChange).pinned));
  const code: string = (await callSafetyCode('c', [{ publicKey, senderId: 1 }, { publicKey, senderId: 2 }])).code;
  await ring.setKey(2, 0, baseKey);
  const counters: MediaCounters = await ring.getCounters();
  if (blob.size < 0 || counters.encrypted < 0 || name === '' || code === '') return [];
  return [...locked.map((l) => l.path), ...searchTokens('x', { schema, path: 'c[]', indexKeys })];
}
