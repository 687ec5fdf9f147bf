/** Stable error codes to branch on (`err.code === 'CONFLICT'`). */
export type CnmErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'EXHAUSTED'
  | 'FORBIDDEN'
  | 'PERMISSION'
  | 'STATE_LOCKED'
  | 'STOPPED'
  | 'NATIVE_UNAVAILABLE'
  /** A registered IPAM threw something other than a CnmError, gave a wrong answer, or none in time. */
  | 'IPAM_FAILED';

/** The base class of every error cnm-ts raises on its own (kernel errors are `NetlinkError`). */
export class CnmError extends Error {
  readonly code: CnmErrorCode;

  constructor(code: CnmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CnmError';
    this.code = code;
  }
}

/** A bad argument, refused before anything reached the kernel. */
export function invalidArgument(message: string): CnmError {
  return new CnmError('INVALID_ARGUMENT', message);
}
