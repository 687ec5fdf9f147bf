// Running operations past failures (undo and teardown paths), alone or together with the other
// calls made in the same turn of the event loop.
import type { Kernel } from './handle';
import { NetlinkError } from './netlink-error';
import type { NativeOp } from './types';

/**
 * Runs the operations in order, going on past failures, and reports each failure with the
 * position of the operation that failed. One trip when nothing fails.
 */
async function runPastFailures(kernel: Kernel, ops: NativeOp[], failed: (index: number, err: unknown) => void): Promise<void> {
  let start = 0;
  while (start < ops.length) {
    try {
      await kernel.batch(ops.slice(start));
      return;
    } catch (err) {
      // A batch refused before it ran (bad input) says nothing of which op: run them one by one.
      if (!(err instanceof NetlinkError)) {
        for (let i = start; i < ops.length; i++) await kernel.batch([ops[i]]).catch((e: unknown) => failed(i, e));
        return;
      }
      failed(start + err.index, err);
      start += err.index + 1;
    }
  }
}

/**
 * Runs the operations in order, going on past failures (undo and teardown paths), and resolves
 * with the errors, in order; none is thrown. One trip when nothing fails.
 */
export async function bestEffort(kernel: Kernel, ops: NativeOp[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  await runPastFailures(kernel, ops, (_index, err) => errors.push(err));
  return errors;
}

interface PendingCall {
  ops: NativeOp[];
  resolve: (errors: unknown[]) => void;
}

/** The calls of this turn of the event loop, per kernel. */
const pendingOf = new WeakMap<Kernel, PendingCall[]>();

/**
 * bestEffort(ops), in one batch with the other calls made in the same turn of the event loop:
 * concurrent teardowns (a hundred sandbox deletes at once) drop their namespaces within
 * microseconds of each other, so the kernel destroys them in one cleanup run instead of several.
 * Each call resolves with its own errors; one call's failure does not stop the others' operations.
 */
export function bestEffortTogether(kernel: Kernel, ops: NativeOp[]): Promise<unknown[]> {
  return new Promise((resolve) => {
    const pending = pendingOf.get(kernel) ?? [];
    pendingOf.set(kernel, pending);
    pending.push({ ops, resolve });
    if (pending.length === 1) setImmediate(() => void runPending(kernel));
  });
}

async function runPending(kernel: Kernel): Promise<void> {
  const calls = pendingOf.get(kernel) ?? [];
  pendingOf.delete(kernel);
  const ownerOf = calls.flatMap((call, k) => call.ops.map(() => k));
  const errors: unknown[][] = calls.map(() => []);
  await runPastFailures(
    kernel,
    calls.flatMap((call) => call.ops),
    (index, err) => errors[ownerOf[index]].push(err),
  );
  calls.forEach((call, k) => call.resolve(errors[k]));
}
