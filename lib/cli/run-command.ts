// Uniform CLI error handling: one line on stderr, {"error": {code, message}} on stdout with --json, and an exit code per error class.
import { QinferError } from '../errors.js';

const EXIT_CODES: Record<string, number> = {
  E_INVALID_ARGUMENT: 2,
  E_BAD_FILE: 3,
  E_UNSUPPORTED: 4,
  E_BACKEND_UNAVAILABLE: 5,
  E_OUT_OF_MEMORY: 6,
  E_ABORTED: 130,
  E_IO: 7,
  E_CONTEXT_OVERFLOW: 8,
};

export async function runCommand(argv: string[], fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    const code = err instanceof QinferError ? err.code : (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 'E_INVALID_ARGUMENT' : 'E_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    if (argv.includes('--json')) console.log(JSON.stringify({ error: { code, message } }));
    console.error(`qinfer: ${message}`);
    if (code === 'E_INTERNAL' && process.env.QINFER_DEBUG && err instanceof Error) console.error(err.stack);
    return EXIT_CODES[code] ?? 1;
  }
}
