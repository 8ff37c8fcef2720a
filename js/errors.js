// PhisealError: every failure phiseal reports, with a stable `code`.

/** Stable error codes (see docs/FORMAT.md §Errors). */
export const ErrorCode = Object.freeze({
  INVALID_KEY: 'INVALID_KEY',
  DECRYPT_FAILED: 'DECRYPT_FAILED',
  UNSUPPORTED: 'UNSUPPORTED',
  MALFORMED_INPUT: 'MALFORMED_INPUT',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  MISUSE: 'MISUSE',
  INVALID_SIGNATURE: 'INVALID_SIGNATURE',
  NOT_RECIPIENT: 'NOT_RECIPIENT',
  UNTRUSTED_AUTHOR: 'UNTRUSTED_AUTHOR',
  CONTEXT_MISMATCH: 'CONTEXT_MISMATCH',
  STALE_VERSION: 'STALE_VERSION',
  UNTRUSTED_KEY: 'UNTRUSTED_KEY',
  KEY_EXPIRED: 'KEY_EXPIRED',
  KEY_REVOKED: 'KEY_REVOKED',
  WRONG_PURPOSE: 'WRONG_PURPOSE',
  ACCESS_DENIED: 'ACCESS_DENIED',
  RNG_FAILED: 'RNG_FAILED',
  PLATFORM: 'PLATFORM',
  NOT_INITIALIZED: 'NOT_INITIALIZED',
});

export class PhisealError extends Error {
  /**
   * @param {string} message
   * @param {string} code one of ErrorCode
   */
  constructor(message, code) {
    super(message);
    this.name = 'PhisealError';
    this.code = code;
  }
}

/** @param {string} what @returns {PhisealError} */
export function invalidArgument(what) {
  return new PhisealError(what, ErrorCode.INVALID_ARGUMENT);
}
