// What more than one driver needs: Docker's MAC addresses, the MTU option, and the gateway of the
// pool an endpoint's address came from.
import { invalidArgument } from '../errors';
import { randomHex } from '../util/ids';
import { ipBytes, parseCidr } from '../util/ip';
import type { DriverOptions, IpamData } from './api';

/** Docker's MTU option (`-o com.docker.network.driver.mtu=1450`). */
export const MTU = 'com.docker.network.driver.mtu';

/** "10.0.0.2/24" -> "10.0.0.2". */
export const withoutPrefix = (cidr: string): string => cidr.split('/')[0];

/** A MAC address derived from the IPv4 address, as Docker does (02:42:ac:11:00:02), else random. */
export function macFor(address: string | undefined): string {
  return address ? macText([0x02, 0x42, ...withoutPrefix(address).split('.').map(Number)]) : randomMac();
}

/** A random locally administered unicast MAC address (02:xx:xx:xx:xx:xx). */
export function randomMac(): string {
  return macText([0x02, ...Buffer.from(randomHex(10), 'hex')]);
}

function macText(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The MTU option, if given: an integer from 68 to 65535. */
export function parseMtu(options: DriverOptions): number | undefined {
  const value = options[MTU];
  if (value === undefined) return undefined;
  const mtu = Number(value);
  if (!/^\d+$/.test(value) || mtu < 68 || mtu > 65535) throw invalidArgument(`${MTU} must be an integer from 68 to 65535, got ${JSON.stringify(value)}`);
  return mtu;
}

/**
 * The gateway (bare) of the pool whose subnet holds `address` ("10.1.0.5/24"), matched by prefix
 * length and network part as libnetwork's getSubnetforIPv4 does; null if none holds it or the pool
 * has no gateway (the null IPAM's).
 */
export function gatewayFor(pools: IpamData[], address: string | undefined): string | null {
  if (!address) return null;
  const pool = pools.find((p) => sameSubnet(p.pool, address));
  return pool?.gateway ? withoutPrefix(pool.gateway) : null;
}

function sameSubnet(pool: string, address: string): boolean {
  const subnet = parseCidr(pool, 'pool');
  const host = parseCidr(address, 'address');
  if (subnet.family !== host.family || subnet.prefixLength !== host.prefixLength) return false;
  const a = ipBytes(subnet.address, subnet.family);
  const b = ipBytes(host.address, host.family);
  return a.every((byte, i) => {
    const bits = Math.max(0, Math.min(8, subnet.prefixLength - i * 8));
    const mask = (0xff << (8 - bits)) & 0xff;
    return (byte & mask) === (b[i] & mask);
  });
}
