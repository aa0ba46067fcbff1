// Parsing numeric and backend CLI arguments with the API's option messages.
import { BACKEND_NAMES } from '../backend.js';
import { expectOneOf, invalid } from '../options.js';

export function intOption(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw invalid('an integer', option, value);
  return n;
}

export function numberOption(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw invalid('a number', option, value);
  return n;
}

export function backendOption(value: string | undefined): 'auto' | 'cpu' | 'cuda' | 'vulkan' | undefined {
  return value === undefined ? undefined : expectOneOf(value, ['auto', ...BACKEND_NAMES] as const, '--backend');
}

/** A one-line progress indicator on stderr when it is a terminal. */
export function progressLine(label: string): { update(fraction: number, detail?: string): void; done(): void } {
  const tty = process.stderr.isTTY;
  return {
    update(fraction, detail = '') {
      if (tty) process.stderr.write(`\r${label} ${(fraction * 100).toFixed(0).padStart(3)}% ${detail}\x1b[K`);
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}
