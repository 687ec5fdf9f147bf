// Small checks of untyped input (what a JS caller passes, what a record holds) that refuse with
// INVALID_ARGUMENT naming the field and the value, and return copies that share nothing with it.
import { invalidArgument } from '../errors';

/** A value as a message shows it: strings quoted, NaN and Infinity as such, objects by type. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object (${Object.getPrototypeOf(value)?.constructor?.name ?? 'no prototype'})` : `a ${typeof value}`;
}

/** A plain object (not null, an array, a Map or a class instance), with only the `allowed` keys if given. */
export function plainObject(value: unknown, what: string, allowed?: readonly string[]): Record<string, unknown> {
  const proto: unknown = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) throw invalidArgument(`${what} must be a plain object, got ${show(value)}`);
  const stranger = allowed && Object.keys(value as object).find((key) => !allowed.includes(key));
  if (allowed && stranger !== undefined) {
    throw invalidArgument(`${what} has no option ${JSON.stringify(stranger)} (it takes ${allowed.join(', ')})`);
  }
  return value as Record<string, unknown>;
}

/** The object without its undefined fields (so that a copy equals what JSON makes of it). */
export function compact<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
}

/** `check(value)` unless the value is undefined. */
export function optional<T>(value: unknown, check: (v: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(value);
}

export function checkBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(`${what} must be a boolean, got ${show(value)}`);
  return value;
}

export function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalidArgument(`${what} must be a string, got ${show(value)}`);
  return value;
}

/** An integer from min to max; -0 comes back as 0, as JSON would store it. */
export function checkInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${what} must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value + 0;
}

/** An array whose items pass `check` (holes are undefined items); a new array. */
export function checkList<T>(value: unknown, what: string, check: (item: unknown, what: string) => T): T[] {
  if (!Array.isArray(value)) throw invalidArgument(`${what} must be an array, got ${show(value)}`);
  return Array.from(value as unknown[], (item, i) => check(item, `${what}[${i}]`));
}

/** A plain object of strings (labels, driver options), values passing `check`; a new object. */
export function checkStringMap(value: unknown, what: string, check: (v: string, what: string) => string = (v) => v): Record<string, string> {
  const map = plainObject(value, what);
  // fromEntries makes own properties, so a "__proto__" key stays a key.
  return Object.fromEntries(Object.entries(map).map(([key, v]) => [key, check(checkString(v, `${what}.${key}`), `${what}.${key}`)]));
}

/** Control characters (C0, DEL, C1): never part of a name or a line of a configuration file. */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A name (network, endpoint, container id): a string with a visible character and no control characters. */
export function checkName(value: unknown, what: string): string {
  const name = checkString(value, what);
  if (name.trim().length === 0 || CONTROL.test(name)) {
    throw invalidArgument(`${what} ${show(name)} must have a visible character and no control characters`);
  }
  return name;
}
