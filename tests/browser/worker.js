// Module worker: phiseal loads and runs HPKE with WebCrypto inside a worker.
import * as phiseal from '../../js/index.js';

self.onmessage = async () => {
  try {
    await phiseal.init();
    const { privateKey, publicKey } = await phiseal.generateKeyPair();
    const { enc, ciphertext } = await phiseal.hpkeSeal(publicKey, new TextEncoder().encode('from a worker'));
    const pt = await phiseal.hpkeOpen(privateKey, enc, ciphertext);
    self.postMessage({ ok: true, text: new TextDecoder().decode(pt), provider: privateKey.provider });
  } catch (e) {
    self.postMessage({ ok: false, error: `${e.name}: ${e.message}` });
  }
};
