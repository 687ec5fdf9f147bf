// TurnGate: a burst of calls starts a few at once, the rest in later turns of the event loop, each
// turn cut by a time budget, in order.
import type { Backlog } from '../../lib/kernel';
import { TurnGate } from '../../lib/util/turn-gate';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
/** Two turns: the gate's own, which queues one start per call, then the one they run in. */
const nextGroup = async () => (await nextTurn(), await nextTurn());
/** Limits that only count: no time budget, no backlog. */
const counting = (atOnce: number, perTurn = atOnce) => ({ atOnce, perTurn, budgetMs: Infinity });

test('calls beyond the per-turn limit start in later turns, in the order they came', async () => {
  const gate = new TurnGate(counting(3));
  const started: number[] = [];
  const calls = Array.from({ length: 8 }, async (_, i) => {
    await gate.enter();
    started.push(i);
  });
  await Promise.resolve();
  expect(started).toEqual([0, 1, 2]);
  await nextGroup();
  expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  await nextTurn();
  expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  await Promise.all(calls);
});

test('a call after a quiet turn starts at once', async () => {
  const gate = new TurnGate(counting(1));
  await gate.enter();
  await nextTurn();
  await nextTurn();
  expect(gate.enter()).toBeUndefined();
});

test('a late call waits behind the ones already waiting', async () => {
  const gate = new TurnGate(counting(1));
  const started: string[] = [];
  const first = (async () => (await gate.enter(), started.push('a')))();
  const second = (async () => (await gate.enter(), started.push('b')))();
  await nextTurn();
  const third = (async () => (await gate.enter(), started.push('c')))();
  await Promise.all([first, second, third]);
  expect(started).toEqual(['a', 'b', 'c']);
});

/** A backlog the test drains by hand. */
function manualBacklog(size: number): { size: number; atMost: Backlog['atMost']; drain(to: number): void } {
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    size,
    atMost(n) {
      return this.size <= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }));
    },
    drain(to) {
      this.size = to;
      for (const w of waiters.splice(0)) {
        if (w.n >= to) w.resolve();
        else waiters.push(w); // waits for a lower mark
      }
    },
  };
}

test('while the backlog is above its limit, calls wait; once it drains they start, a turn of them at a time', async () => {
  const backlog = manualBacklog(5);
  const gate = new TurnGate({ ...counting(2), backlog, maxBacklog: 3 });
  const started: number[] = [];
  const calls = Array.from({ length: 3 }, async (_, i) => {
    await gate.enter();
    started.push(i);
  });
  await nextTurn();
  await nextTurn();
  expect(started).toEqual([]);
  backlog.drain(3);
  await nextGroup();
  expect(started).toEqual([0, 1]);
  await nextGroup();
  expect(started).toEqual([0, 1, 2]);
  await Promise.all(calls);
});

test('a backlog within its limit lets calls start at once', () => {
  const gate = new TurnGate({ ...counting(2), backlog: manualBacklog(3), maxBacklog: 3 });
  expect(gate.enter()).toBeUndefined();
});

/** Blocks the JS thread for `ms`, as a call's synchronous work does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a later turn starts calls until they have run for its budget; timers run between turns', async () => {
  const gate = new TurnGate({ atOnce: 1, perTurn: 32, budgetMs: 10 });
  // The timer callbacks run so far: the same for calls started in one turn.
  let timerRuns = 0;
  const timer = setInterval(() => (timerRuns += 1), 1);
  try {
    const seen: { call: number; timerRuns: number }[] = [];
    // Each call's JS (after its await, as in the library's operations) takes 4 ms: 12 of them, 48 ms.
    const calls = Array.from({ length: 12 }, async (_, call) => {
      await gate.enter();
      seen.push({ call, timerRuns });
      busy(4);
    });
    await Promise.all(calls);
    expect(seen.map((s) => s.call)).toEqual([...Array(12).keys()]);
    const perTurn = new Map<number, number>();
    for (const s of seen.slice(1)) perTurn.set(s.timerRuns, (perTurn.get(s.timerRuns) ?? 0) + 1);
    // A later turn starts calls at 0, 4 and 8 ms, none at 12: at most 3, so at least 4 turns.
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(3);
    expect(perTurn.size).toBeGreaterThanOrEqual(4);
  } finally {
    clearInterval(timer);
  }
});
