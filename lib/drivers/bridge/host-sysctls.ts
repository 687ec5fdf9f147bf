// The host's sysctls that forwarding.ts switches and puts back, named as sysctl(8) names them
// (net.ipv6.conf.eth0.accept_ra; a dot in an interface name is written "/", as sysctl(8) does), and
// read in one trip.
import { NetlinkError, validateIfname, type Kernel, type NativeOp } from '../../native';

export const IP_FORWARD = 'net.ipv4.ip_forward';
export const IPV6_ALL_FORWARDING = 'net.ipv6.conf.all.forwarding';
export const IPV6_DEFAULT_FORWARDING = 'net.ipv6.conf.default.forwarding';

/** One interface's IPv6 setting: `accept_ra` or `forwarding`. */
export type InterfaceSetting = 'accept_ra' | 'forwarding';

const PER_INTERFACE = /^net\.ipv6\.conf\.([^.]+)\.(accept_ra|forwarding)$/;

/** The sysctl name of an interface's IPv6 setting. */
export function interfaceSysctl(ifname: string, setting: InterfaceSetting): string {
  return `net.ipv6.conf.${ifname.replaceAll('.', '/')}.${setting}`;
}

/** The interface setting a sysctl name is about, or null for a global one (all, default) or another. */
export function interfaceOf(name: string): { ifname: string; setting: InterfaceSetting } | null {
  const match = PER_INTERFACE.exec(name);
  if (!match || match[1] === 'all' || match[1] === 'default') return null;
  return { ifname: match[1].replaceAll('/', '.'), setting: match[2] as InterfaceSetting };
}

/** Whether `name` is one of the sysctls forwarding.ts changes (a record naming anything else is not believed). */
export function isForwardingSysctl(name: string): boolean {
  if ([IP_FORWARD, IPV6_ALL_FORWARDING, IPV6_DEFAULT_FORWARDING].includes(name)) return true;
  const setting = interfaceOf(name);
  if (!setting) return false;
  try {
    validateIfname(setting.ifname);
    return true;
  } catch {
    return false;
  }
}

/** The sysctl's key as the addon takes it: its /proc/sys path (an interface name may hold dots). */
function keyOf(name: string): string {
  const setting = interfaceOf(name);
  return setting ? `net/ipv6/conf/${setting.ifname}/${setting.setting}` : name.replaceAll('.', '/');
}

/** The operation that writes `value` to the sysctl. */
export function sysctlSetOp(name: string, value: string): NativeOp {
  return { op: 'sysctlSet', key: keyOf(name), value };
}

/**
 * The sysctls' values, in one trip when none is missing; null for one that is not there (an
 * interface gone meanwhile, IPv6 switched off on the host).
 */
export async function readSysctls(kernel: Kernel, names: string[]): Promise<Map<string, string | null>> {
  const values = new Map<string, string | null>();
  let pending = names;
  while (pending.length > 0) {
    try {
      const results = await kernel.batch(pending.map((name) => ({ op: 'sysctlGet', key: keyOf(name) })));
      pending.forEach((name, i) => values.set(name, String(results[i]).trim()));
      return values;
    } catch (err) {
      if (!(err instanceof NetlinkError && err.code === 'ENOENT')) throw err;
      // The batch stopped at the missing one: the others are read again.
      values.set(pending[err.index], null);
      pending = pending.filter((_, i) => i !== err.index);
    }
  }
  return values;
}
