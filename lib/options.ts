// Option validation with one message style: "Expected X for option Y but received Z".
import { InvalidArgumentError } from './errors.js';

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export function invalid(expected: string, option: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`Expected ${expected} for option ${option} but received ${describe(value)}`);
}

export function expectOneOf<T extends string>(value: unknown, allowed: readonly T[], option: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalid(`one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, option, value);
}

export function expectInteger(value: unknown, option: string, min = -Infinity, max = Infinity): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  const range = Number.isFinite(min) && Number.isFinite(max) ? ` from ${min} to ${max}` : Number.isFinite(min) ? ` >= ${min}` : '';
  throw invalid(`an integer${range}`, option, value);
}

export function expectNumber(value: unknown, option: string, min = -Infinity, max = Infinity): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max) return value;
  const range = Number.isFinite(min) && Number.isFinite(max) ? ` from ${min} to ${max}` : Number.isFinite(min) ? ` >= ${min}` : '';
  throw invalid(`a finite number${range}`, option, value);
}

export function expectString(value: unknown, option: string): string {
  if (typeof value === 'string' && value.length > 0) return value;
  throw invalid('a non-empty string', option, value);
}

export function expectSignal(value: unknown, option = 'signal'): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw invalid('an AbortSignal', option, value);
}

export function expectFunction<F extends (...args: never[]) => unknown>(value: unknown, option: string): F | undefined {
  if (value === undefined || typeof value === 'function') return value as F | undefined;
  throw invalid('a function', option, value);
}
