// Endpoint records of concurrent createEndpoint calls are written together (one trip, one
// writeFiles), and a failed group still gives each call its own outcome. Four calls, the most that
// start at once in one turn of the event loop (the controller's PACING).
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
// A turn of the event loop: the calls made after it are the first of theirs (the fake kernel answers within one).
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { NativeOp } from '../../../lib/kernel';
import { fakeWorld, type FakeWorld } from '../../helpers/fake-cnm';

const NAMES = ['a', 'b', 'c', 'd'];

/** The record writes that reach the kernel: the endpoint names in each writeFiles of store/endpoints. */
function watchRecordWrites(world: FakeWorld, failFor = ''): string[][] {
  const writes: string[][] = [];
  const run = world.kernel.batch.bind(world.kernel);
  world.kernel.batch = async (ops: NativeOp[]) => {
    for (const op of ops) {
      if (op.op !== 'writeFiles' || !op.files.every((f) => f.path.startsWith('store/endpoints/'))) continue;
      const names = op.files.map((f) => (JSON.parse(f.content) as { name: string }).name);
      writes.push(names);
      if (failFor && names.includes(failFor)) throw new Error(`disk full (${names.join(',')})`);
    }
    return run(ops);
  };
  return writes;
}

const recordFiles = (world: FakeWorld) => readdirSync(path.join(world.options.stateDir!, 'store', 'endpoints')).sort();

test('concurrent createEndpoint calls write their records in one operation; one call alone still writes its own', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const network = await controller.newNetwork('bridge', 'web', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
  const writes = watchRecordWrites(world);
  await nextTurn();
  const endpoints = await Promise.all(NAMES.map((name) => network.createEndpoint(name)));
  expect(writes).toEqual([NAMES]);
  expect(recordFiles(world)).toEqual(endpoints.map((e) => `${e.id}.json`).sort());
  await network.createEndpoint('alone');
  expect(writes).toEqual([NAMES, ['alone']]);
  await controller.stop({ removeAll: true });
});

test('when a group fails, each write is tried alone: only the call whose record cannot be written fails, and it leaves nothing', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const network = await controller.newNetwork('bridge', 'web', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
  const writes = watchRecordWrites(world, 'c');
  await nextTurn();
  const outcomes = await Promise.allSettled(NAMES.map((name) => network.createEndpoint(name)));
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  expect(writes[0]).toEqual(NAMES);
  expect(writes.slice(1).sort()).toEqual(NAMES.map((name) => [name]).sort());
  expect(
    network
      .endpoints()
      .map((e) => e.name)
      .sort(),
  ).toEqual(['a', 'b', 'd']);
  expect(recordFiles(world)).toEqual(
    network
      .endpoints()
      .map((e) => `${e.id}.json`)
      .sort(),
  );
  // Its address went back to the pool: the next endpoint gets it.
  const taken = network.endpoints().map((e) => e.info().interface.address);
  const next = await network.createEndpoint('next');
  expect(taken).not.toContain(next.info().interface.address);
  expect(next.info().interface.address).toBe('10.9.0.4/24');
  await controller.stop({ removeAll: true });
});
