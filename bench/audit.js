// Audit-log benchmark: appends per second (hash chain and Merkle tree,
// checkpoint every 1,000), verification of a 100,000-entry log (and against a
// kept checkpoint), proof sizes and verification times in wasm; in Node also
// the native numbers for a 1,000,000-entry log (`phiseal audit bench`).
// Timings are printed, never asserted.
import * as phiseal from '../js/index.js';

export async function runAuditCases({ entries = 100_000, native = 1_000_000 } = {}) {
  await phiseal.init();
  const signingKey = phiseal.SigningKey.generate();
  const log = new phiseal.AuditLog({ logId: 'bench', signingKey, checkpointEvery: 1000, clock: () => 1_700_000_000_000 });
  const entry = { actor: { id: 'dr-lee', role: 'clinician' }, action: 'decrypt', patientId: 'p-1', resource: 'record-1', fieldPath: '/patient/ssn' };
  let kept = null;
  const t0 = performance.now();
  for (let i = 0; i < entries; i++) {
    const { lines } = log.append(entry);
    if (i + 1 === entries / 2) kept = JSON.parse(lines[1]).note;
  }
  const appendMs = performance.now() - t0;
  const jsonl = log.toJsonl();
  const t1 = performance.now();
  const report = phiseal.verifyLog(jsonl, [signingKey.publicKey]);
  const verifyMs = performance.now() - t1;
  if (!report.valid) throw new Error('bench log did not verify');
  const t2 = performance.now();
  const since = phiseal.verifyLog(jsonl, { trusted: [signingKey.publicKey], since: kept });
  const sinceMs = performance.now() - t2;
  if (!since.valid) throw new Error('bench log does not extend its kept checkpoint');
  const tree = phiseal.AuditTree.fromLog(jsonl);
  const line = jsonl.split('\n', entries / 2 + 1).pop();
  const at = { size: tree.size, root: tree.root() };
  const inclusion = tree.inclusionProof(JSON.parse(line).seq);
  const old = { size: entries / 2 + 1, root: tree.root(entries / 2 + 1) };
  const consistency = tree.consistencyProof(old.size);
  const reps = 2000;
  const t3 = performance.now();
  for (let i = 0; i < reps; i++) phiseal.verifyInclusion(line, at, inclusion);
  const inclusionUs = ((performance.now() - t3) * 1000) / reps;
  const t4 = performance.now();
  for (let i = 0; i < reps; i++) phiseal.verifyConsistency(old, at, consistency);
  const consistencyUs = ((performance.now() - t4) * 1000) / reps;
  const row = (metric, value, lowerIsBetter = false) => ({ metric, phiseal: value, peer: '-', peerValue: NaN, lowerIsBetter });
  const rows = [
    row('audit append (chain + tree, checkpoint every 1000)', (entries * 1000) / appendMs),
    row(`audit verify ${entries} entries (entries/s)`, (entries * 1000) / verifyMs),
    row(`audit verify ${entries} against a kept checkpoint (entries/s)`, (entries * 1000) / sinceMs),
    row(`inclusion proof in ${entries}: ${inclusion.length} hashes, verify (us)`, inclusionUs, true),
    row(`consistency proof ${old.size}->${entries}: ${consistency.length} hashes, verify (us)`, consistencyUs, true),
  ];
  if (typeof process !== 'undefined' && process.versions?.node && native > 0) rows.push(...(await nativeRows(native)));
  return rows;
}

/** `phiseal audit bench N` (release build of the CLI), one row per line it prints. */
async function nativeRows(n) {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync('cargo', ['run', '--quiet', '--release', '--features', 'cli', '--', 'audit', 'bench', String(n)], {
    encoding: 'utf8',
    cwd: new URL('..', import.meta.url).pathname,
    maxBuffer: 1 << 20,
  });
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((r) => ({ metric: `native: ${r.metric} (${r.unit})`, phiseal: r.value, peer: '-', peerValue: NaN, lowerIsBetter: r.unit !== 'entries/s' }));
}
