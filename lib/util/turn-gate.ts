// Spreads a burst of calls over turns of the event loop. Five hundred setups started at once
// would otherwise run all their JS up to their first kernel trip in one go, and nothing else
// (timers, I/O, other requests) would run meanwhile. A few calls of a turn start at once; the
// rest start in the turns after, in order, each turn until its calls have run for a time budget.
// A call's JS is not a fixed size (a join is dearer than a lookup, a busy machine slower than a
// quiet one), so a turn is cut by the clock, not by a count. With a backlog (the kernel's batches
// not yet sent), calls also wait while more than `maxBacklog` batches do: each started call soon
// holds a built batch, and hundreds of them alive at once make every garbage collection copy them
// all. The backlog drains on its own (worker threads finish), so a call that waits for another
// call to finish cannot hold the gate shut.
import { performance } from 'node:perf_hooks';
import type { Backlog } from '../native';

/** How a TurnGate paces calls. */
export interface TurnLimits {
  /** Calls that start without waiting in a turn that has none waiting. */
  atOnce: number;
  /** In a later turn, no call starts once the ones started in it have run this long (ms). */
  budgetMs: number;
  /** At most this many start in one later turn. */
  perTurn: number;
  /** The kernel's batches not yet sent, and how many of them new calls wait for. */
  backlog?: Backlog;
  maxBacklog?: number;
}

export class TurnGate {
  private startedThisTurn = 0;
  private readonly waiting: (() => void)[] = [];
  private turnScheduled = false;

  constructor(private readonly limits: TurnLimits) {}

  /** Resolves when the caller may start: at once while this turn has room, else in a later turn. */
  enter(): Promise<void> | undefined {
    this.scheduleTurn();
    if (this.waiting.length === 0 && this.startedThisTurn < this.limits.atOnce && !this.backedUp()) {
      this.startedThisTurn += 1;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private backedUp(): boolean {
    const { backlog, maxBacklog = Infinity } = this.limits;
    return backlog !== undefined && backlog.size > maxBacklog;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.nextTurn());
  }

  /** Starts the next turn's calls; the gate stays scheduled until none waits. */
  private nextTurn(): void {
    this.startedThisTurn = 0;
    if (this.waiting.length === 0) {
      this.turnScheduled = false;
      return;
    }
    if (this.backedUp()) {
      void this.limits.backlog!.atMost(this.limits.maxBacklog!).then(() => this.nextTurn());
      return;
    }
    // One immediate per start, all run in the next turn: Node runs the microtasks one queues (the
    // call's JS up to its first kernel trip) before the next immediate, which reads the clock.
    let began: number | undefined;
    const starts = Math.min(this.waiting.length, this.limits.perTurn);
    for (let i = 0; i < starts; i++) {
      setImmediate(() => {
        const now = performance.now();
        began ??= now;
        if (now - began < this.limits.budgetMs && !this.backedUp()) this.waiting.shift()?.();
      });
    }
    setImmediate(() => this.nextTurn());
  }
}
