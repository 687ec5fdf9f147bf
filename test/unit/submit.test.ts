// The batch queue: a bounded number of batches in flight, operations built and checked only when
// their batch is sent, and one bad batch failing alone.
import type { NativeOp, NativeResult } from '../../lib/native/types';
import { fakeBinding } from '../helpers/fake-binding';

const pending: { ops: NativeOp[]; resolve: (r: NativeResult[]) => void }[] = [];
const binding = fakeBinding((ops) => new Promise((resolve) => pending.push({ ops, resolve })));
jest.mock('../../lib/native/loader', () => ({ loadBinding: () => binding }));

import { backlog, MAX_IN_FLIGHT, submit } from '../../lib/native/submit';

const list = (): NativeOp[] => [{ op: 'linkList' }];
const settle = () => new Promise((r) => setImmediate(r));

describe('the batch queue', () => {
  afterEach(() => {
    pending.length = 0;
  });

  it('keeps at most MAX_IN_FLIGHT batches on worker threads and sends the rest as they finish', async () => {
    const results = Array.from({ length: 10 }, (_, i) => submit(() => [{ op: 'linkGet', name: `l${i}` }]));
    expect(pending).toHaveLength(MAX_IN_FLIGHT);
    let answered = 0;
    while (answered < 10) {
      expect(pending.length).toBeLessThanOrEqual(MAX_IN_FLIGHT);
      const next = pending.shift()!;
      next.resolve([`answer to ${(next.ops[0] as { name: string }).name}` as unknown as NativeResult]);
      answered += 1;
      await settle();
    }
    expect(await Promise.all(results)).toEqual(Array.from({ length: 10 }, (_, i) => [`answer to l${i}`]));
  });

  it('builds a batch only when it is sent', async () => {
    const prepared: number[] = [];
    const results = Array.from({ length: MAX_IN_FLIGHT + 2 }, (_, i) =>
      submit(() => {
        prepared.push(i);
        return list();
      }),
    );
    expect(prepared).toEqual(Array.from({ length: MAX_IN_FLIGHT }, (_, i) => i));
    pending.shift()!.resolve([]);
    await settle();
    expect(prepared).toHaveLength(MAX_IN_FLIGHT + 1);
    while (pending.length) {
      pending.shift()!.resolve([]);
      await settle();
    }
    await Promise.all(results);
  });

  it('rejects a batch that fails to build or validate without holding up the others', async () => {
    const bad = submit(() => {
      throw new Error('cannot build');
    });
    const invalid = submit(() => [{ op: 'linkGet', name: 'sixteen-bytes-xx' }]);
    const good = submit(list);
    await expect(bad).rejects.toThrow('cannot build');
    await expect(invalid).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(pending).toHaveLength(1);
    pending.shift()!.resolve([]);
    await expect(good).resolves.toEqual([]);
  });

  it('counts the batches not yet sent, and tells a waiter once at most n of them are left', async () => {
    const results = Array.from({ length: MAX_IN_FLIGHT + 3 }, () => submit(list));
    expect(backlog.size).toBe(3);
    let told = false;
    const drained = backlog.atMost(1).then(() => (told = true));
    pending.shift()!.resolve([]);
    await settle();
    expect(backlog.size).toBe(2);
    expect(told).toBe(false);
    pending.shift()!.resolve([]);
    await settle();
    expect(backlog.size).toBe(1);
    expect(told).toBe(true);
    await drained;
    await expect(backlog.atMost(1)).resolves.toBeUndefined();
    while (pending.length) {
      pending.shift()!.resolve([]);
      await settle();
    }
    await Promise.all(results);
    expect(backlog.size).toBe(0);
  });
});
