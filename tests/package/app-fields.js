// A field-encryption-only app: imports 'phiseal/fields' and nothing else, so
// it must load the lean wasm build and no media code.
import { ErrorCode, capabilities, generateAuthorKey, generateKeyPair, init, openRecord, sealRecord } from 'phiseal/fields';

const SCHEMA = { id: 'intake', version: 1, fields: { 'patient.name': true } };
const RECORD = { patient: { name: 'Ana Souza' } };

window.smoke = async () => {
  await init();
  const { privateKey, publicKey } = await generateKeyPair();
  const author = await generateAuthorKey();
  const sealed = await sealRecord(RECORD, { schema: SCHEMA, recordId: 'r1', context: { patientId: 'p-1' }, recipients: [publicKey], author });
  const expect = { schema: SCHEMA, privateKey, recordId: 'r1', context: { patientId: 'p-1' }, authors: [author.publicKey] };
  const opened = await openRecord(sealed, expect);
  const stranger = await generateAuthorKey();
  const refused = await openRecord(sealed, { ...expect, authors: [stranger.publicKey] }).then(() => 'opened', (e) => e.code);
  return {
    fields: !JSON.stringify(sealed).includes('Ana Souza') && JSON.stringify(opened.record) === JSON.stringify(RECORD) && opened.author.kid === author.kid,
    fieldsRefusal: refused === ErrorCode.UNTRUSTED_AUTHOR,
    capabilities: capabilities(),
    wasmBytes: performance
      .getEntriesByType('resource')
      .filter((e) => /\.wasm($|\?)/.test(e.name))
      .map((e) => e.decodedBodySize),
    scripts: performance.getEntriesByType('resource').filter((e) => /\.js($|\?)/.test(e.name)).map((e) => e.name),
  };
};
window.appReady = true;
