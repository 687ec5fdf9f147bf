// Veth pairs deleted together. The kernel makes each delete request wait for an RCU grace period
// (about 30 ms), however many links it deletes, so the deletes asked for while one is under way
// (or in the same turn of the event loop) go out as one group delete (native linkDeleteGroup).
import type { Kernel } from '../../native';
import { Coalescer } from '../../util/coalescer';

export class LinkReaper {
  private readonly deletes: Coalescer<string>;

  constructor(kernel: Kernel) {
    this.deletes = new Coalescer(async (names) => void (await kernel.batch([{ op: 'linkDeleteGroup', names }])));
  }

  /**
   * Deletes a link of the host namespace (`ip link del NAME`) together with the others asked for
   * meanwhile; resolves once it is gone (a link already gone is fine). If the request fails, every
   * delete that went with it rejects with its error.
   */
  delete(name: string): Promise<void> {
    return this.deletes.add(name);
  }
}
