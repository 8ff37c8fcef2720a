// 'phiseal/fields': the same API as 'phiseal' over the lean wasm build
// (keys, HPKE, field encryption); the audit functions throw UNSUPPORTED.
export * from './index.js';
