// Requests that come together go out together: the ones made in the same turn of the event loop,
// or while the previous group is under way, are handed to `run` as one group. Both the kernel's
// costs that do not grow with a request's size (an RCU grace period, a worker trip, a folder's
// fsync) are then paid once per group.

/**
 * How many requests of a finished group are settled in one turn of the event loop: each goes on
 * with its caller's work (a createEndpoint returns, the caller's join starts), and a group of 500
 * settled at once would hold the event loop for all of it.
 */
const SETTLED_PER_TURN = 32;

interface Pending<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Coalescer<T> {
  private pending: Pending<T>[] = [];
  private running = false;

  /**
   * `run` does a whole group. If it fails, each request of the group is given to `alone` when
   * there is one, so that each gets its own outcome; without `alone`, each rejects with the error.
   */
  constructor(
    private readonly run: (items: T[]) => Promise<void>,
    private readonly alone?: (item: T) => Promise<void>,
  ) {}

  /** Resolves once `item` was done with its group (or alone, after the group failed). */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.running) return;
      this.running = true;
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      try {
        await this.run(group.map((p) => p.item));
        settleInTurns(group, (p) => p.resolve());
      } catch (err) {
        const alone = this.alone;
        if (alone && group.length > 1) await Promise.all(group.map((p) => alone(p.item).then(p.resolve, p.reject)));
        else settleInTurns(group, (p) => p.reject(err));
      }
    }
    this.running = false;
  }
}

/** Settles `group` in order, SETTLED_PER_TURN now and the rest in the turns after (the next group need not wait for it). */
function settleInTurns<T>(group: Pending<T>[], settle: (p: Pending<T>) => void, from = 0): void {
  const end = Math.min(group.length, from + SETTLED_PER_TURN);
  for (let i = from; i < end; i++) settle(group[i]);
  if (end < group.length) setImmediate(() => settleInTurns(group, settle, end));
}
