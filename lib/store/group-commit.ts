// Group commit, as databases do it: the record writes asked for in one turn of the event loop go to
// the kernel together, in one worker trip and one writeFiles operation, so that concurrent calls
// (a runtime starting 100 containers) share the trip and the fsync of their folder. Each write
// still resolves only once its file is on disk.
import type { Kernel, NativeOp } from '../native';

/** The operation that writes files (a record's, see StateStore.writeOp). */
export type WriteFilesOp = Extract<NativeOp, { op: 'writeFiles' }>;

interface Pending {
  op: WriteFilesOp;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  private pending: Pending[] = [];

  constructor(private readonly kernel: Kernel) {}

  /** Writes `op`'s files with the other writes asked for in this turn; resolves once they are written. */
  write(op: WriteFilesOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ op, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const groups = new Map<string, Pending[]>();
    for (const p of this.pending.splice(0)) {
      const key = `${p.op.base}\0${p.op.atomic}\0${p.op.durable}`;
      const group = groups.get(key);
      if (group) group.push(p);
      else groups.set(key, [p]);
    }
    await Promise.all([...groups.values()].map((writes) => this.commit(writes)));
  }

  /** One operation for writes that share their base folder and flags. */
  private async commit(writes: Pending[]): Promise<void> {
    try {
      await this.kernel.batch([{ ...writes[0].op, files: writes.flatMap((p) => p.op.files) }]);
      for (const p of writes) p.resolve();
    } catch (err) {
      if (writes.length === 1) return writes[0].reject(err);
      // Which write failed is not known: each is tried again on its own, so each caller gets its own outcome.
      await Promise.all(writes.map((p) => this.kernel.batch([p.op]).then(() => p.resolve(), p.reject)));
    }
  }
}
