// Veth pairs deleted together. The kernel makes each delete request wait for an RCU grace period
// (about 30 ms), however many links it deletes, so the deletes asked for while one is under way
// (or in the same turn of the event loop) go out as one group delete (native linkDeleteGroup).
import type { Kernel } from '../../native';

interface PendingDelete {
  name: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class LinkReaper {
  private pending: PendingDelete[] = [];
  private running = false;

  constructor(private readonly kernel: Kernel) {}

  /**
   * Deletes a link of the host namespace (`ip link del NAME`) together with the others asked for
   * meanwhile; resolves once it is gone (a link already gone is fine). If the request fails, every
   * delete that went with it rejects with its error.
   */
  delete(name: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ name, resolve, reject });
      if (this.running) return;
      this.running = true;
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const together = this.pending;
      this.pending = [];
      try {
        await this.kernel.batch([{ op: 'linkDeleteGroup', names: together.map((p) => p.name) }]);
        for (const p of together) p.resolve();
      } catch (err) {
        for (const p of together) p.reject(err);
      }
    }
    this.running = false;
  }
}
