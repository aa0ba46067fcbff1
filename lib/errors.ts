// The error classes of the public API; native code throws these same classes (see binding.ts).

export type ErrorCode =
  | 'E_BAD_FILE'
  | 'E_UNSUPPORTED'
  | 'E_BACKEND_UNAVAILABLE'
  | 'E_OUT_OF_MEMORY'
  | 'E_ABORTED'
  | 'E_INVALID_ARGUMENT'
  | 'E_INTERNAL'
  | 'E_IO'
  | 'E_CONTEXT_OVERFLOW';

export class QinferError extends Error {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'E_INTERNAL', options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class BadFileError extends QinferError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'E_BAD_FILE', options);
  }
}

export class UnsupportedError extends QinferError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'E_UNSUPPORTED', options);
  }
}

export class BackendUnavailableError extends QinferError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'E_BACKEND_UNAVAILABLE', options);
  }
}

export class OutOfMemoryError extends QinferError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'E_OUT_OF_MEMORY', options);
  }
}

export class AbortError extends QinferError {
  constructor(message = 'The operation was aborted', options?: ErrorOptions) {
    super(message, 'E_ABORTED', options);
  }
}

export class InvalidArgumentError extends QinferError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'E_INVALID_ARGUMENT', options);
  }
}

export class IoError extends QinferError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'E_IO', options);
  }
}

/** A prompt or evaluation that does not fit in the model's context (option contextSize). */
export class ContextOverflowError extends QinferError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'E_CONTEXT_OVERFLOW', options);
  }
}

/** The class native code instantiates for each code. */
export const errorClassesByCode: Record<ErrorCode, new (message: string) => QinferError> = {
  E_BAD_FILE: BadFileError,
  E_UNSUPPORTED: UnsupportedError,
  E_BACKEND_UNAVAILABLE: BackendUnavailableError,
  E_OUT_OF_MEMORY: OutOfMemoryError,
  E_ABORTED: AbortError,
  E_INVALID_ARGUMENT: InvalidArgumentError,
  E_INTERNAL: QinferError,
  E_IO: IoError,
  E_CONTEXT_OVERFLOW: ContextOverflowError,
};

/** Throws AbortError when the signal has fired (call at each cancellation point). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}
