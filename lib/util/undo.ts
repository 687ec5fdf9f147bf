import createDebug from './debug';

const debug = createDebug('cnm:undo');

/**
 * The undo steps of an operation that is under way: each step that took effect pushes what
 * reverses it; on failure they run newest first, each one even if an earlier one failed.
 */
export class UndoStack {
  private readonly steps: (() => unknown)[] = [];

  push(step: () => unknown): void {
    this.steps.push(step);
  }

  /** Runs the undo steps newest first; logs (does not throw) the ones that fail. */
  async unwind(): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch (err) {
        debug('undo step failed: %s', (err as Error).message);
      }
    }
    this.steps.length = 0;
  }

  /** Runs `work` with this stack; if it throws, unwinds and rethrows. */
  async run<T>(work: (undo: UndoStack) => Promise<T>): Promise<T> {
    try {
      return await work(this);
    } catch (err) {
      await this.unwind();
      throw err;
    }
  }
}

/** `work` with a fresh undo stack, unwound if it throws. */
export function withUndo<T>(work: (undo: UndoStack) => Promise<T>): Promise<T> {
  return new UndoStack().run(work);
}
