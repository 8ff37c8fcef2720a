// 'phiseal/fields': keys, HPKE and field encryption over the lean wasm build
// (pkg/fields/: no audit log, no media code). Same API as 'phiseal'; the
// audit functions (AuditLog, AuditQueue, verifyLog, breakGlass) throw
// UNSUPPORTED here. If the app also imports 'phiseal' (or any entry that
// needs the full build) before init() runs, the full build is loaded
// instead and everything works.
export * from './api.js';
