// TurnGate: a burst of calls starts a few at a time, one group per turn of the event loop, in order.
import type { Backlog } from '../../lib/kernel';
import { TurnGate } from '../../lib/util/turn-gate';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('calls beyond the per-turn limit start in later turns, in the order they came', async () => {
  const gate = new TurnGate(3);
  const started: number[] = [];
  const calls = Array.from({ length: 8 }, async (_, i) => {
    await gate.enter();
    started.push(i);
  });
  await Promise.resolve();
  expect(started).toEqual([0, 1, 2]);
  await nextTurn();
  expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  await nextTurn();
  expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  await Promise.all(calls);
});

test('a call after a quiet turn starts at once', async () => {
  const gate = new TurnGate(1);
  await gate.enter();
  await nextTurn();
  await nextTurn();
  expect(gate.enter()).toBeUndefined();
});

test('a late call waits behind the ones already waiting', async () => {
  const gate = new TurnGate(1);
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
  const gate = new TurnGate(2, backlog, 3);
  const started: number[] = [];
  const calls = Array.from({ length: 3 }, async (_, i) => {
    await gate.enter();
    started.push(i);
  });
  await nextTurn();
  await nextTurn();
  expect(started).toEqual([]);
  backlog.drain(3);
  await Promise.resolve();
  await Promise.resolve();
  expect(started).toEqual([0, 1]);
  await nextTurn();
  expect(started).toEqual([0, 1, 2]);
  await Promise.all(calls);
});

test('a backlog within its limit lets calls start at once', () => {
  const gate = new TurnGate(2, manualBacklog(3), 3);
  expect(gate.enter()).toBeUndefined();
});
