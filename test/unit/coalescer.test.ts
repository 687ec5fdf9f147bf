// Coalescer: the requests of a finished group are settled a few per turn of the event loop, so that
// hundreds of callers going on at once do not hold it.
import { Coalescer } from '../../lib/util/coalescer';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test.each([
  ['resolved', async () => undefined],
  ['rejected', async () => Promise.reject(new Error('disk full'))],
])('a group of 80 is %s 32 per turn, in order', async (_, run) => {
  const coalescer = new Coalescer<number>(run);
  const settled: number[] = [];
  const requests = Array.from({ length: 80 }, (_, i) => {
    const record = () => settled.push(i);
    return coalescer.add(i).then(record, record);
  });
  while (settled.length === 0) await nextTurn();
  expect(settled).toEqual(Array.from({ length: 32 }, (_, i) => i));
  await nextTurn();
  expect(settled).toHaveLength(64);
  await nextTurn();
  expect(settled).toEqual(Array.from({ length: 80 }, (_, i) => i));
  await Promise.all(requests);
});
