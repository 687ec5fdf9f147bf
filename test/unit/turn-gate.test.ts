// TurnGate: a burst of calls starts a few at a time, one group per turn of the event loop, in order.
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
