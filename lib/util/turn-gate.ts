// Spreads a burst of calls over turns of the event loop: the calls made in one turn start at most
// `perTurn` at a time and the rest in the turns after, in order. Five hundred setups started at
// once would otherwise run all their JS up to their first kernel trip in one go, and nothing else
// (timers, I/O, other requests) would run meanwhile. With a backlog (the kernel's batches not yet
// sent), calls also wait while more than `maxBacklog` batches do: each started call soon holds a
// built batch, and hundreds of them alive at once make every garbage collection copy them all.
// The backlog drains on its own (worker threads finish), so a call that waits for another call
// to finish cannot hold the gate shut.
import type { Backlog } from '../native';

export class TurnGate {
  private startedThisTurn = 0;
  private readonly waiting: (() => void)[] = [];
  private turnScheduled = false;

  constructor(
    private readonly perTurn: number,
    private readonly backlog?: Backlog,
    private readonly maxBacklog = Infinity,
  ) {}

  /** Resolves when the caller may start: at once while this turn has room, else in a later turn. */
  enter(): Promise<void> | undefined {
    this.scheduleTurn();
    if (this.waiting.length === 0 && this.startedThisTurn < this.perTurn && !this.backedUp()) {
      this.startedThisTurn += 1;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private backedUp(): boolean {
    return this.backlog !== undefined && this.backlog.size > this.maxBacklog;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.nextTurn());
  }

  private nextTurn(): void {
    if (this.waiting.length > 0 && this.backedUp()) {
      // Still scheduled: no other turn starts before this wait ends.
      void this.backlog!.atMost(this.maxBacklog).then(() => this.nextTurn());
      return;
    }
    this.turnScheduled = false;
    this.startedThisTurn = 0;
    const now = this.waiting.splice(0, this.perTurn);
    this.startedThisTurn = now.length;
    for (const start of now) start();
    if (now.length > 0) this.scheduleTurn();
  }
}
