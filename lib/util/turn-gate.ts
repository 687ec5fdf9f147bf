// Spreads a burst of calls over turns of the event loop: the calls made in one turn start at most
// `perTurn` at a time and the rest in the turns after, in order. Five hundred setups started at
// once would otherwise run all their JS up to their first kernel trip in one go, and nothing else
// (timers, I/O, other requests) would run meanwhile.
export class TurnGate {
  private startedThisTurn = 0;
  private readonly waiting: (() => void)[] = [];
  private turnScheduled = false;

  constructor(private readonly perTurn: number) {}

  /** Resolves when the caller may start: at once while this turn has room, else in a later turn. */
  enter(): Promise<void> | undefined {
    this.scheduleTurn();
    if (this.waiting.length === 0 && this.startedThisTurn < this.perTurn) {
      this.startedThisTurn += 1;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.nextTurn());
  }

  private nextTurn(): void {
    this.turnScheduled = false;
    this.startedThisTurn = 0;
    const now = this.waiting.splice(0, this.perTurn);
    this.startedThisTurn = now.length;
    for (const start of now) start();
    if (now.length > 0) this.scheduleTurn();
  }
}
