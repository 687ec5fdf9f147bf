// Controllers on a FakeKernel, for the rootless unit tests of the CNM objects: state, netns and
// /etc/netns folders in a fresh temporary folder, removed after each test.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NetworkController, type ControllerOptions } from '../../lib';
import { FakeKernel } from './fake-kernel';

export interface FakeWorld {
  kernel: FakeKernel;
  root: string;
  /** The options every controller of this world is made with (folders, kernel). */
  options: ControllerOptions;
  /** A controller on this world's kernel and folders. */
  start(extra?: ControllerOptions): Promise<NetworkController>;
  /** The files below the world's folders with their content, for before / after comparisons. */
  files(): Record<string, string>;
}

const worlds: string[] = [];
afterEach(() => {
  for (const root of worlds.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A fake kernel (with the host's routes) and folders for controllers. */
export function fakeWorld(hostRoutes: string[] = ['10.0.0.0/24']): FakeWorld {
  const root = mkdtempSync(path.join(tmpdir(), 'cnm-fake-'));
  worlds.push(root);
  const hostResolvConf = path.join(root, 'resolv.conf');
  writeFileSync(hostResolvConf, 'nameserver 10.0.0.53\nsearch host.example\n');
  const kernel = new FakeKernel(hostRoutes);
  const options: ControllerOptions = {
    stateDir: path.join(root, 'state'),
    runDir: path.join(root, 'run'),
    netnsDir: path.join(root, 'netns'),
    etcNetnsDir: path.join(root, 'etc-netns'),
    hostResolvConf,
    kernel,
  };
  return {
    kernel,
    root,
    options,
    start: (extra = {}) => NetworkController.create({ ...options, ...extra }),
    files: () => filesBelow(root, ['resolv.conf', 'state/lock']),
  };
}

function filesBelow(root: string, skip: string[]): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(root, relative))) {
      const child = path.join(relative, name);
      if (skip.includes(child)) continue;
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else found[child] = readFileSync(path.join(root, child), 'utf8');
    }
  };
  walk('');
  return found;
}

/** From now on, the operations of each batch the world's kernel runs, by name, one list per batch. */
export function recordBatches(world: FakeWorld): string[][] {
  const batches: string[][] = [];
  const run = world.kernel.batch.bind(world.kernel);
  world.kernel.batch = (ops) => {
    batches.push(ops.map((o) => o.op));
    return run(ops);
  };
  return batches;
}
