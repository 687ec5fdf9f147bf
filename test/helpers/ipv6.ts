// IPv6 test tools: the host's per-interface IPv6 sysctls, and radvd, the router that sends the
// router advertisements the tests check hosts against.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const conf = (key: string) => `/proc/sys/net/ipv6/conf/${key}`;

/** The host's `net.ipv6.conf.KEY` ("all/forwarding", "eth0/accept_ra"). */
export const hostIpv6Sysctl = (key: string): string => readFileSync(conf(key), 'utf8').trim();
export const setHostIpv6Sysctl = (key: string, value: string): void => writeFileSync(conf(key), value);

/**
 * Starts radvd with `config` inside the namespace at `netns`; `later` gets the step that stops it
 * and removes its folder (a fixture's cleanup, so it runs also when the test fails).
 */
export function startRadvd(netns: string, config: string, later: (step: () => unknown) => void): void {
  const folder = mkdtempSync(path.join(tmpdir(), 'cnm-radvd-'));
  later(() => rmSync(folder, { recursive: true, force: true }));
  writeFileSync(path.join(folder, 'radvd.conf'), config);
  const radvd = spawn(
    'nsenter',
    [`--net=${netns}`, 'radvd', '-n', '-C', path.join(folder, 'radvd.conf'), '-p', path.join(folder, 'radvd.pid'), '-m', 'stderr'],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => radvd.once('exit', resolve));
  later(async () => {
    radvd.kill();
    await exited;
  });
}
