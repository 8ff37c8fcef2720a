// Audit-log benchmark: appends per second (hash chain, no checkpoints) and
// verification of a 100,000-entry log with checkpoints every 1,000.
import * as phiseal from '../js/index.js';

export async function runAuditCases({ entries = 100_000 } = {}) {
  await phiseal.init();
  const signingKey = phiseal.SigningKey.generate();
  const log = new phiseal.AuditLog({ logId: 'bench', signingKey, checkpointEvery: 1000, clock: () => 1_700_000_000_000 });
  const entry = { actor: { id: 'dr-lee', role: 'clinician' }, action: 'decrypt', patientId: 'p-1', resource: 'record-1', fieldPath: '/patient/ssn' };
  const t0 = performance.now();
  for (let i = 0; i < entries; i++) log.append(entry);
  const appendMs = performance.now() - t0;
  const jsonl = log.toJsonl();
  const t1 = performance.now();
  const report = phiseal.verifyLog(jsonl, [signingKey.publicKey]);
  const verifyMs = performance.now() - t1;
  if (!report.valid) throw new Error('bench log did not verify');
  return [
    { metric: `audit append (hash chain, checkpoint every 1000)`, phiseal: (entries * 1000) / appendMs, peer: '-', peerValue: NaN },
    { metric: `audit verify ${entries} entries (entries/s)`, phiseal: (entries * 1000) / verifyMs, peer: '-', peerValue: NaN },
  ];
}
