// Group commit, as databases do it: record writes asked for together (in one turn of the event
// loop, or while the previous group is being written) go to the kernel as one writeFiles
// operation, so that concurrent calls (a runtime starting 100 containers) share a worker trip and
// the fsync of their folder. Each write still resolves only once its file is on disk.
import type { Kernel, NativeOp } from '../native';
import { Coalescer } from '../util/coalescer';

/** The operation that writes files (a record's, see StateStore.writeOp). */
export type WriteFilesOp = Extract<NativeOp, { op: 'writeFiles' }>;

export class GroupCommit {
  /** One queue per base folder and flags: only writes that share them can share an operation. */
  private readonly queues = new Map<string, Coalescer<WriteFilesOp>>();

  constructor(private readonly kernel: Kernel) {}

  /** Writes `op`'s files with the other writes asked for meanwhile; resolves once they are written. */
  write(op: WriteFilesOp): Promise<void> {
    const key = `${op.base}\0${op.atomic}\0${op.durable}`;
    let queue = this.queues.get(key);
    if (!queue) {
      // If a group fails, which write failed is not known: each is tried again on its own.
      queue = new Coalescer(
        (ops) => this.writeAll([{ ...ops[0], files: ops.flatMap((o) => o.files) }]),
        (alone) => this.writeAll([alone]),
      );
      this.queues.set(key, queue);
    }
    return queue.add(op);
  }

  private async writeAll(ops: WriteFilesOp[]): Promise<void> {
    await this.kernel.batch(ops);
  }
}
