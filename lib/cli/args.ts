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
