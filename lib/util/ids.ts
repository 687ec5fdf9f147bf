import { randomBytes } from 'node:crypto';

/** A new object id: 64 hex digits, like Docker's network, endpoint and sandbox ids. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** `n` random hex digits (interface name suffixes). */
export function randomHex(n: number): string {
  return randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
}
