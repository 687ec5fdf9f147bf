// Crash safety: a child process runs a controller that removes what the last run made and then
// creates and joins 200 sandboxes, each publishing a port; it is SIGKILLed at a random moment, 20
// times in a row on one state directory. After each kill a new controller starts there, and what
// it lists must be what the kernel has, both ways (links, namespaces, files, firewall map
// elements, held ports), with no address given twice.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { NetworkController } from '../../../lib';
import { bare, bridgePorts, fileTree, nsAddrs, restart, useControllers } from '../../helpers/cnm';
import { describeKernel, ipJson, NETNS_DIR, othersCanBind } from '../../helpers/kernel';
import { nftJson, ofKind } from '../../helpers/nft';
import { timeLimit } from '../../helpers/timing';

// The tests of this file may take this long (longer under a sanitizer).
jest.setTimeout(timeLimit(300_000));

/** The maps of the controller's inet table (`nft -j list table`). */
const ipMaps = (owner: string) => ofKind<{ name: string; elem?: unknown[] }>(nftJson(['list', 'table', 'inet', `cnm-ts-${owner}`]), 'map');

const WORKER = path.resolve(__dirname, '..', '..', 'fixtures', 'crash-worker.js');
const ROUNDS = 20;

/** Runs the worker until it is killed `delayMs` after its controller is ready (or it finishes). */
function runWorker(
  dirs: { stateDir: string; runFolder: string; etcNetnsDir: string; hostResolvConf: string },
  run: number,
  delayMs: number,
): Promise<'killed' | 'finished'> {
  const runDir = path.dirname(dirs.runFolder);
  const child = spawn(process.execPath, [WORKER, dirs.stateDir, runDir, dirs.etcNetnsDir, dirs.hostResolvConf, String(run)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d: Buffer) => {
    if (d.toString().includes('ready')) setTimeout(() => child.kill('SIGKILL'), delayMs);
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('finished');
      else reject(new Error(`worker run ${run} failed (${code}): ${stderr}`));
    });
  });
}

/** What the controller lists is what the kernel and the disk have, both ways. */
/** The names in a folder; none if it is not there (the folders come with the first sandbox, and a kill may come first). */
const namesIn = (folder: string): string[] => (existsSync(folder) ? readdirSync(folder).sort() : []);

function expectConsistent(c: NetworkController, dirs: { stateDir: string; runFolder: string; etcNetnsDir: string }): number {
  const mark = `cnm-${c.owner}-`;
  const sandboxes = c.sandboxes();
  expect(
    readdirSync(NETNS_DIR)
      .filter((n) => n.startsWith(mark))
      .sort(),
  ).toEqual(sandboxes.map((s) => path.basename(s.key)).sort());
  expect(namesIn(dirs.etcNetnsDir)).toEqual(sandboxes.map((s) => path.basename(s.key)).sort());
  expect(namesIn(path.join(dirs.runFolder, 'sandboxes'))).toEqual(sandboxes.map((s) => s.id).sort());
  for (const base of [dirs.stateDir, dirs.runFolder]) expect(Object.keys(fileTree(path.join(base, 'store'))).filter((p) => p.endsWith('.tmp'))).toEqual([]);

  const ours = ipJson<{ ifname: string; ifalias?: string }[]>(['-d', 'link', 'show', 'type', 'bridge']).filter((l) =>
    l.ifalias?.startsWith(`cnm-ts:${c.owner}:`),
  );
  const network = c.networkByName('crash');
  expect(ours.map((l) => l.ifname)).toEqual(network ? [`br-${network.id.slice(0, 12)}`] : []);
  const endpoints = network?.endpoints() ?? [];
  const addresses = endpoints.map((e) => e.info().interface.address);
  expect(new Set(addresses).size).toBe(addresses.length);

  const joined = endpoints.filter((e) => e.info().sandboxId !== null);
  // Each joined endpoint publishes its port, held by this process, and one map element says so.
  const published = joined.map((e) => e.info().portMapping?.[0]?.hostPort ?? 0);
  expect(published.every((port) => port > 0)).toBe(true);
  const maps = network ? ipMaps(c.owner) : [];
  expect(maps.find((m) => m.name === 'anyports')?.elem ?? []).toHaveLength(published.length);
  for (const port of published.slice(0, 3)) expect(othersCanBind('tcp', '0.0.0.0', port)).toBe(false);
  if (network) expect(bridgePorts(`br-${network.id.slice(0, 12)}`)).toHaveLength(joined.length);
  for (const sandbox of sandboxes) {
    const inside = nsAddrs(sandbox.key)
      .filter((l) => l.ifname !== 'lo')
      .map(
        (l) =>
          `${l.ifname} ${l.addr_info
            .filter((a) => a.family === 'inet')
            .map((a) => a.local)
            .join(' ')}`,
      );
    const listed = sandbox.endpoints().map((e) => `${e.info().interface.name} ${bare(e.info().interface.address)}`);
    expect(inside.sort()).toEqual(listed.sort());
  }
  return joined.length;
}

describeKernel('a controller killed at random moments', () => {
  const env = useControllers();

  it(`comes back consistent each time, ${ROUNDS} kills in a row, and leaves nothing at the end`, async () => {
    const f = await env.make({ predefinedNetworks: false });
    await f.controller.stop();
    const outcomes: string[] = [];
    for (let run = 0; run < ROUNDS; run++) {
      const delay = Math.floor(Math.random() * 3000);
      const outcome = await runWorker(f, run, delay);
      const c = await restart(f);
      const joined = expectConsistent(c, f);
      outcomes.push(`${outcome} after ${delay} ms: ${c.sandboxes().length} sandboxes, ${joined} joined, ${c.restoreReport().orphans.length} orphans removed`);
      await c.stop();
    }
    console.log(outcomes.join('\n'));
    expect(outcomes.filter((o) => o.startsWith('killed')).length).toBeGreaterThanOrEqual(ROUNDS / 2);
    const last = await restart(f);
    await last.stop({ removeAll: true });
    expect(Object.keys(fileTree(path.join(f.stateDir, 'store'))).filter((p) => !p.endsWith('/'))).toEqual([]);
    expect(existsSync(f.runFolder)).toBe(false);
    expect(readdirSync(NETNS_DIR).filter((n) => n.startsWith(`cnm-${last.owner}-`))).toEqual([]);
  });
});
