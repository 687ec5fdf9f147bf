// Fault injection for tests: make the n-th kernel or disk operation from now fail, to prove that
// every step of a CNM operation can fail without leaving anything half-made.
import { constants } from 'node:os';
import { NetlinkError } from './netlink-error';

let countdown = 0;

/**
 * Makes the `n`-th native operation from now (1 = the next one; counted across batches, undo steps
 * included) fail with `EIO` instead of running. The operations before it in its batch run. Fires
 * once. For tests of code that uses cnm-ts: see `faultPending()`.
 */
export function failOperation(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('failOperation needs a positive integer');
  countdown = n;
}

/** True while a fault set by failOperation() has not fired yet. */
export function faultPending(): boolean {
  return countdown > 0;
}

/** Cancels a fault that has not fired. */
export function clearFault(): void {
  countdown = 0;
}

/** @internal The position in a batch of `length` operations where the pending fault fires, or -1. */
export function takeFault(length: number): number {
  if (countdown === 0) return -1;
  if (countdown > length) {
    countdown -= length;
    return -1;
  }
  const index = countdown - 1;
  countdown = 0;
  return index;
}

/** @internal The error an injected fault raises, as the addon would report it. */
export function injectedError(op: string, index: number): NetlinkError {
  return new NetlinkError({ errno: -constants.errno.EIO, syscall: 'injected', object: op, extack: 'fault injected by failOperation()', index });
}
