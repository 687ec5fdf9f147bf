// Host ports held for published container ports: while held, no other process can bind them;
// once released (or once the holder dies), they are free again.
import { spawnSync } from 'node:child_process';
import { portRelease, portReserve } from '../../../lib/kernel';
import { describeKernel, expectInvalidArgument, expectNetlinkError, othersCanBind } from '../../helpers/kernel';

describeKernel('port reservations', () => {
  it('hold a TCP or UDP port against every other bind until released', async () => {
    for (const protocol of ['tcp', 'udp'] as const) {
      const held = await portReserve('127.0.0.1', protocol, 0);
      expect(held.port).toBeGreaterThan(0);
      expect(othersCanBind(protocol, '127.0.0.1', held.port)).toBe(false);
      // 0.0.0.0 overlaps every address: taken too.
      expect(othersCanBind(protocol, '0.0.0.0', held.port)).toBe(false);
      await portRelease(held.fd);
      expect(othersCanBind(protocol, '127.0.0.1', held.port)).toBe(true);
    }
  });

  it('take the first free port of a range, and fail with EADDRINUSE when all are taken', async () => {
    const first = await portReserve('127.0.0.1', 'tcp', 0);
    const next = await portReserve('127.0.0.1', 'tcp', first.port, first.port + 1).catch(() => null);
    try {
      expect(next?.port).toBe(first.port + 1);
      await expectNetlinkError(portReserve('0.0.0.0', 'tcp', first.port, first.port + 1), {
        code: 'EADDRINUSE',
        syscall: 'bind',
        object: `${first.port}-${first.port + 1}`,
      });
    } finally {
      await portRelease(first.fd);
      if (next) await portRelease(next.fd);
    }
  });

  it('are freed by the kernel when the holding process dies', () => {
    const lib = require.resolve('../../../dist/kernel');
    const code = `require(${JSON.stringify(lib)}).portReserve('127.0.0.1', 'tcp', 0).then((r) => { console.log(r.port); process.exit(0); })`;
    const child = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    expect(child.status).toBe(0);
    expect(othersCanBind('tcp', '127.0.0.1', Number(child.stdout.trim()))).toBe(true);
  });

  it('refuse bad input before binding anything', async () => {
    await expectInvalidArgument(portReserve('nowhere', 'tcp', 80));
    await expectInvalidArgument(portReserve('127.0.0.1', 'icmp' as 'tcp', 80));
    await expectInvalidArgument(portReserve('127.0.0.1', 'tcp', 70000));
    await expectInvalidArgument(portReserve('127.0.0.1', 'tcp', 90, 80));
    await expectInvalidArgument(portRelease(1));
  });
});
