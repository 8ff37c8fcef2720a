// phiseal: protect patient data (PHI) in the browser.
//
// The main entry point ('phiseal'): keys, HPKE, field encryption, audit log
// and key lifecycle, backed by the full wasm build (pkg/). Apps that only
// seal and open records can import 'phiseal/fields' instead: the same API
// over a smaller wasm build without the audit log and media code (whose
// functions then throw UNSUPPORTED). Media E2EE and encrypted streams are
// 'phiseal/media' and 'phiseal/stream'; the capture guard and watermarks,
// which need no wasm, are 'phiseal/guard' and 'phiseal/watermark'.
import { useFullBuild } from './internal.js';

useFullBuild();

export * from './api.js';
