import { randomBytes } from 'node:crypto';

// Random bytes are drawn in blocks: one system call serves many ids.
let pool = Buffer.alloc(0);
let offset = 0;

function random(n: number): Buffer {
  if (offset + n > pool.length) {
    pool = randomBytes(Math.max(4096, n));
    offset = 0;
  }
  offset += n;
  return pool.subarray(offset - n, offset);
}

/** A new object id: 64 hex digits, like Docker's network, endpoint and sandbox ids. */
export function newId(): string {
  return random(32).toString('hex');
}

/** `n` random hex digits (interface name suffixes). */
export function randomHex(n: number): string {
  return random(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n);
}
