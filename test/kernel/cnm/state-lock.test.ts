// One controller per state directory (STATE_LOCKED, in this process or another, released when
// the holder stops or dies), and one PERMISSION error without the needed capabilities.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NetworkController } from '../../../lib';
import { describeKernel, expectBackTo, hostHasLink, snapshot, type KernelSnapshot } from '../../helpers/kernel';

const root = path.resolve(__dirname, '..', '..', '..');
const dist = path.join(root, 'dist');

/** Node code that makes a controller on `stateDir` and prints the outcome. */
const makeController = (stateDir: string, then = 'process.exit(0)') =>
  `require(${JSON.stringify(dist)}).NetworkController.create({ stateDir: ${JSON.stringify(stateDir)}, predefinedNetworks: false })` +
  `.then(() => { console.log('ready'); ${then} }, (e) => { console.log(e.code + ': ' + e.message); process.exit(1); })`;

describeKernel('the state directory lock', () => {
  let dir: string;
  let before: KernelSnapshot;
  const controllers: NetworkController[] = [];

  beforeAll(() => {
    before = snapshot();
    dir = mkdtempSync(path.join(tmpdir(), 'cnm-lock-'));
  });
  afterAll(async () => {
    for (const c of controllers) await c.stop({ removeAll: true });
    rmSync(dir, { recursive: true, force: true });
    await expectBackTo(before);
  });

  const make = async (stateDir: string, defaultBridgeName: string) => {
    const c = await NetworkController.create({ stateDir, etcNetnsDir: path.join(dir, 'etc'), defaultBridgeName });
    controllers.push(c);
    return c;
  };

  it('refuses a second controller in this process with STATE_LOCKED, making nothing, until the first stops', async () => {
    const stateDir = path.join(dir, 'same-process');
    const first = await make(stateDir, 'cnmlk1');
    const second = NetworkController.create({ stateDir, etcNetnsDir: path.join(dir, 'etc'), defaultBridgeName: 'cnmlk2' });
    await expect(second).rejects.toMatchObject({
      code: 'STATE_LOCKED',
      message: expect.stringMatching(new RegExp(`${stateDir}.*pid ${process.pid}`)),
    });
    expect(hostHasLink('cnmlk2')).toBe(false);
    await first.stop({ removeAll: true });
    const third = await make(stateDir, 'cnmlk3');
    expect(third.networkByName('bridge')).toBeDefined();
  });

  it('refuses a controller in another process, naming this process as the holder', async () => {
    const stateDir = path.join(dir, 'other-process');
    await make(stateDir, 'cnmlk4');
    const other = spawnSync(process.execPath, ['-e', makeController(stateDir)], { encoding: 'utf8' });
    expect(other.status).toBe(1);
    expect(other.stdout).toContain(`STATE_LOCKED: state directory ${stateDir} is in use by another controller (pid ${process.pid})`);
  });

  it('is free again once the holding process is killed', async () => {
    const stateDir = path.join(dir, 'killed');
    const holder = spawn(process.execPath, ['-e', makeController(stateDir, 'setInterval(() => {}, 1000)')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const said = await new Promise<string>((resolve) => holder.stdout!.once('data', (d) => resolve(String(d))));
    expect(said).toContain('ready');
    await expect(NetworkController.create({ stateDir, predefinedNetworks: false })).rejects.toMatchObject({ code: 'STATE_LOCKED' });
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const after = await NetworkController.create({ stateDir, predefinedNetworks: false });
    controllers.push(after);
  });
});

describeKernel('without the capabilities', () => {
  it('gives one PERMISSION error before making any file', () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'cnm-perm-'));
    const stateDir = path.join(parent, 'state');
    try {
      // As root, dropping the capabilities from the bounding set drops them from the new program.
      const run = spawnSync('setpriv', ['--bounding-set', '-net_admin,-sys_admin', process.execPath, '-e', makeController(stateDir)], {
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(run.stdout).toContain('PERMISSION: cnm-ts needs CAP_NET_ADMIN and CAP_SYS_ADMIN');
      expect(existsSync(stateDir)).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
