// A field-encryption-only app: imports 'phiseal/fields' and nothing else, so
// it must load the lean wasm build and no media code.
import { capabilities, generateKeyPair, init, openRecord, sealRecord } from 'phiseal/fields';

const SCHEMA = { id: 'intake', version: 1, fields: { 'patient.name': true } };
const RECORD = { patient: { name: 'Ana Souza' } };

window.smoke = async () => {
  await init();
  const { privateKey, publicKey } = await generateKeyPair();
  const sealed = await sealRecord(RECORD, { schema: SCHEMA, recordId: 'r1', recipients: [publicKey] });
  const opened = await openRecord(sealed, { schema: SCHEMA, privateKey });
  return {
    fields: !JSON.stringify(sealed).includes('Ana Souza') && JSON.stringify(opened.record) === JSON.stringify(RECORD),
    capabilities: capabilities(),
    wasmBytes: performance
      .getEntriesByType('resource')
      .filter((e) => /\.wasm($|\?)/.test(e.name))
      .map((e) => e.decodedBodySize),
    scripts: performance.getEntriesByType('resource').filter((e) => /\.js($|\?)/.test(e.name)).map((e) => e.name),
  };
};
window.appReady = true;
