// The kernel a controller works on, as one value passed down to everything that touches it
// (netlink's Handle, netavark's sockets passed into setup): the addon by default, a fake in the
// unit tests. Everything above lib/native reaches the kernel only through a Kernel.
import { batch, waitLinksGone } from './operations';
import { nativeDnsPump, type DnsPump } from './dns-pump';
import { checkPrivileges } from './privileges';
import { backlog } from './submit';
import type { NativeOp, NativeResult } from './types';

/** What cnm-ts needs from the kernel: batches of operations, a wait for links to go, a privilege check. */
export interface Kernel {
  /**
   * Runs the operations in order and resolves with one result each; rejects at the first failure
   * with a NetlinkError whose `index` names the failed operation (the ones before it took effect).
   */
  batch(ops: NativeOp[]): Promise<NativeResult[]>;
  /** Resolves once no link of the host namespace has any of these names (ETIMEDOUT after `timeoutMs`). */
  waitLinksGone(names: string[], timeoutMs: number): Promise<void>;
  /** Rejects with PERMISSION when the process may not make namespaces, links and mounts. */
  checkPrivileges(): Promise<void>;
  /** The sockets of the sandboxes' embedded DNS servers, served by one thread. */
  readonly dns: DnsPump;
  /**
   * Optional: the batches asked for and not yet sent (a kernel that runs each batch at once has
   * none). A controller starts new calls only while few wait, so that a burst of calls does not
   * hold hundreds of built batches at once (each would survive every garbage collection until
   * sent, and make it longer).
   */
  readonly backlog?: Backlog;
}

/** Batches waiting to be sent (see Kernel.backlog). */
export interface Backlog {
  /** How many wait. */
  readonly size: number;
  /** Resolves once at most `n` wait. */
  atMost(n: number): Promise<void>;
}

/** The kernel through the addon: the default of every controller. */
export const nativeKernel: Kernel = {
  batch,
  waitLinksGone: (names, timeoutMs) => waitLinksGone(names, { timeoutMs }),
  checkPrivileges,
  dns: nativeDnsPump,
  backlog,
};
