// The host's forwarding, which outside access and published ports need: net.ipv4.ip_forward, and
// for IPv6 networks net.ipv6.conf.{default,all}.forwarding (as moby's setupIPv6Forwarding sets
// them: default, then all, each only when it is 0). When cnm-ts is the one that switches something
// on, it first records the value it found in the state directory (durably, in the same trip as the
// switch), so that:
// - its firewall drops forwarding of that family (IPv4, IPv6) that neither comes from nor goes to
//   a cnm-ts device: the host does not become a router between its other interfaces (Docker sets
//   iptables' FORWARD policy to DROP for that reason when it enables forwarding), unless the
//   controller's `ipForwardNoDrop`;
// - stop({ removeAll: true }) (and a newNetwork that fails) puts the values back once no network of
//   any controller needs them: IPv4's once no cnm-ts bridge is left on the host, IPv6's once none
//   has an IPv6 address.
// Forwarding that was on before cnm-ts is the host's own business: no record, no drop for that
// family (the other family's drop stays: the host routes only the family it routed before).
//
// IPv6 forwarding also makes the kernel a router: it stops taking router advertisements on
// interfaces with accept_ra=1, and the write of all.forwarding=1 itself deletes the default routes
// learned from them (rt6_purge_dflt_routers), so a host that learns its IPv6 default route by RA
// would lose it (moby#43466; Docker leaves this to the administrator). accept_ra=2 takes RAs while
// forwarding: cnm-ts sets it first on the interfaces that take RAs now (accept_ra=1, forwarding 0;
// not loopback, not a bridge's port, not cnm-ts's own), and puts it back with the rest.
import { constants } from 'node:os';
import createDebug from '../../util/debug';
import type { Family } from '../../util/ip';
import { bestEffort, NetlinkError, runOne, type Kernel, type LinkInfo, type NativeOp } from '../../native';
import {
  interfaceOf,
  interfaceSysctl,
  IP_FORWARD,
  IPV6_ALL_FORWARDING,
  IPV6_DEFAULT_FORWARDING,
  isForwardingSysctl,
  readSysctls,
  sysctlSetOp,
} from './host-sysctls';
import { ALIAS_PREFIX, OWNED_GROUP_BIT } from './ownership';

const debug = createDebug('cnm:bridge');

/**
 * The record: the values cnm-ts found before it changed them, by sysctl name
 * ({"net.ipv4.ip_forward":"0","net.ipv6.conf.eth0.accept_ra":"1",...}).
 */
export const FORWARDING_RECORD = 'forwarding.json';
const IFF_LOOPBACK = 0x8;
/** The sysctl that switches a family's forwarding on for the whole host. */
const FAMILY_FORWARDING = { 4: IP_FORWARD, 6: IPV6_ALL_FORWARDING } as const;
const FAMILIES = [4, 6] as const;

export interface ForwardingOptions {
  /** The controller's state directory, where the record is kept. */
  stateDir: string;
  /** The host is meant to route: no drop of other forwarding (Docker's `--ip-forward-no-drop`). */
  noDrop: boolean;
}

export class Forwarding {
  /** The values found before cnm-ts changed them, by sysctl name: what the record holds. */
  private readonly found = new Map<string, string>();
  /** The families whose forwarding was on before cnm-ts: the host routes them on its own. */
  private readonly hostRoutes = new Set<Family>();
  private loaded: Promise<void> | null = null;

  constructor(
    private readonly kernel: Kernel,
    private readonly options: ForwardingOptions,
  ) {}

  /**
   * The families whose forwarding between interfaces that are not cnm-ts devices the firewall
   * drops: those cnm-ts switched on, unless their forwarding was the host's own (its routing stays).
   */
  get dropsOthersFor(): Family[] {
    if (this.options.noDrop) return [];
    return FAMILIES.filter((f) => this.found.has(FAMILY_FORWARDING[f]) && !this.hostRoutes.has(f));
  }

  /** Reads the record left by an earlier controller on the state directory, and whose forwarding is on (once). */
  load(): Promise<void> {
    this.loaded ??= this.readRecord().then(async (record) => {
      for (const [name, value] of record) if (!this.found.has(name)) this.found.set(name, value);
      this.noteHostRoutes(await readSysctls(this.kernel, [IP_FORWARD, IPV6_ALL_FORWARDING]));
    });
    return this.loaded;
  }

  /**
   * The operations that switch forwarding on, for a network that needs it (and IPv6 forwarding for
   * an IPv6 one): the record first (durably), then the switches. None when all is on already.
   */
  async switchOnOps(ipv6: boolean): Promise<NativeOp[]> {
    await this.load();
    const now = await readSysctls(this.kernel, ipv6 ? [IP_FORWARD, IPV6_DEFAULT_FORWARDING, IPV6_ALL_FORWARDING] : [IP_FORWARD]);
    this.noteHostRoutes(now);
    const changes: NativeOp[] = [];
    if (now.get(IP_FORWARD) === '0') changes.push(this.change(IP_FORWARD, '0', '1'));
    if (ipv6 && now.get(IPV6_ALL_FORWARDING) === '0') {
      changes.push(...(await this.acceptRaChanges()));
      // Writing all.forwarding writes default.forwarding too, also when it is put back: the value
      // found is recorded whatever it is.
      const value = now.get(IPV6_DEFAULT_FORWARDING) ?? '0';
      this.note(IPV6_DEFAULT_FORWARDING, value);
      if (value === '0') changes.push(sysctlSetOp(IPV6_DEFAULT_FORWARDING, '1'));
      changes.push(this.change(IPV6_ALL_FORWARDING, '0', '1'));
    } else if (ipv6 && now.get(IPV6_DEFAULT_FORWARDING) === '0') {
      changes.push(this.change(IPV6_DEFAULT_FORWARDING, '0', '1'));
    }
    // The whole record, with every change: a record an earlier failed batch did not write is written now.
    return changes.length === 0 ? [] : [this.recordOp(), ...changes];
  }

  /**
   * accept_ra=2 on the interfaces that take router advertisements now (accept_ra=1, not
   * forwarding), before all.forwarding=1. Interfaces that forward on their own lose that to the
   * write of all.forwarding and its put back: they are recorded, to be put back after it.
   */
  private async acceptRaChanges(): Promise<NativeOp[]> {
    const links = (await runOne(this.kernel, { op: 'linkList' })).filter((l) => (l.group & OWNED_GROUP_BIT) === 0);
    const now = await readSysctls(
      this.kernel,
      links.flatMap((l) => [interfaceSysctl(l.name, 'accept_ra'), interfaceSysctl(l.name, 'forwarding')]),
    );
    const changes: NativeOp[] = [];
    for (const link of links) {
      const acceptRa = interfaceSysctl(link.name, 'accept_ra');
      const forwarding = interfaceSysctl(link.name, 'forwarding');
      if (now.get(forwarding) === '1') this.note(forwarding, '1');
      // A bridge's port hands RAs to its bridge, which takes them or not; loopback gets none.
      else if (now.get(acceptRa) === '1' && link.master === null && (link.flags & IFF_LOOPBACK) === 0) changes.push(this.change(acceptRa, '1', '2'));
    }
    return changes;
  }

  /** Records the value found (unless an earlier one is recorded) and returns the write of `value`. */
  private change(name: string, found: string, value: string): NativeOp {
    this.note(name, found);
    return sysctlSetOp(name, value);
  }

  /** Records the value found, unless an earlier one is recorded. */
  private note(name: string, found: string): void {
    if (!this.found.has(name)) this.found.set(name, found);
  }

  /** Notes the families whose forwarding is on without cnm-ts having switched it on: the host's own. */
  private noteHostRoutes(now: Map<string, string | null>): void {
    for (const f of FAMILIES) if (now.get(FAMILY_FORWARDING[f]) === '1' && !this.found.has(FAMILY_FORWARDING[f])) this.hostRoutes.add(f);
  }

  /**
   * Puts back the values cnm-ts found that no network of any controller needs any more: IPv4's once
   * no cnm-ts bridge (they carry the alias mark) is left on the host, IPv6's once none has an IPv6
   * address but link-local ones. A value is put back only while it is still the one cnm-ts wrote
   * (someone who changed it since owns it). The record keeps what is left, or goes.
   */
  async putBack(): Promise<void> {
    await this.load();
    if (this.found.size === 0) return;
    const needed = await this.neededFamilies();
    const names = [...this.found.keys()].filter((name) => !needed.has(name === IP_FORWARD ? 4 : 6));
    if (names.length === 0) return;
    const now = await readSysctls(this.kernel, names);
    const wrote = (name: string, value: string) => names.includes(name) && now.get(name) === value;
    const back = (name: string) => sysctlSetOp(name, this.found.get(name)!);
    const perInterface = (setting: 'accept_ra' | 'forwarding') => names.filter((name) => interfaceOf(name)?.setting === setting && now.get(name) !== null);
    const ops: NativeOp[] = [];
    if (wrote(IP_FORWARD, '1')) ops.push(back(IP_FORWARD));
    const allBack = wrote(IPV6_ALL_FORWARDING, '1');
    // all.forwarding first: its write sets default's and every interface's forwarding, and (with
    // accept_ra still 2) keeps the routes learned from RAs.
    if (allBack) ops.push(back(IPV6_ALL_FORWARDING), ...perInterface('forwarding').map(back));
    if (names.includes(IPV6_DEFAULT_FORWARDING) && (allBack || wrote(IPV6_DEFAULT_FORWARDING, '1'))) ops.push(back(IPV6_DEFAULT_FORWARDING));
    ops.push(
      ...perInterface('accept_ra')
        .filter((name) => now.get(name) === '2')
        .map(back),
    );
    // An interface gone since is nothing to put back; any other failure keeps the record for the next try.
    const errors = (await bestEffort(this.kernel, ops)).filter((err) => !(err instanceof NetlinkError && err.code === 'ENOENT'));
    if (errors.length > 0) throw errors[0];
    names.forEach((name) => this.found.delete(name));
    await this.kernel.batch([
      this.found.size > 0 ? this.recordOp() : { op: 'removePaths', base: this.options.stateDir, durable: true, paths: [FORWARDING_RECORD] },
    ]);
  }

  /** The families some network may still need forwarding for, by the cnm-ts bridges (of any controller) on the host. */
  private async neededFamilies(): Promise<Set<4 | 6>> {
    const links: LinkInfo[] = await runOne(this.kernel, { op: 'linkList' });
    const bridges = new Set(links.filter((l) => l.kind === 'bridge' && l.alias?.startsWith(ALIAS_PREFIX)).map((l) => l.name));
    if (bridges.size === 0) return new Set();
    const addresses = await runOne(this.kernel, { op: 'addressList', family: 6 });
    return new Set(addresses.some((a) => bridges.has(a.ifname) && a.scope !== 'link') ? [4, 6] : [4]);
  }

  /** The durable write of the record: every value found. */
  private recordOp(): NativeOp {
    const content = JSON.stringify(Object.fromEntries(this.found));
    return { op: 'writeFiles', base: this.options.stateDir, atomic: true, durable: true, files: [{ path: FORWARDING_RECORD, content, mode: 0o600 }] };
  }

  /** The record's values, by sysctl name; an unreadable record is taken as none, an unknown name is left out. */
  private async readRecord(): Promise<Map<string, string>> {
    const [read] = await runOne(this.kernel, { op: 'readFiles', base: this.options.stateDir, paths: [FORWARDING_RECORD] });
    // No record: cnm-ts did not switch forwarding on.
    if ('error' in read) {
      if (read.errno !== constants.errno.ENOENT) debug('%s: taken as no record: %s', FORWARDING_RECORD, read.error);
      return new Map();
    }
    try {
      const entries = Object.entries(JSON.parse(read.content) as Record<string, unknown>);
      const known = entries.filter((e): e is [string, string] => isForwardingSysctl(e[0]) && typeof e[1] === 'string' && /^[0-9]$/.test(e[1]));
      if (known.length < entries.length) debug('%s: %d entries left out', FORWARDING_RECORD, entries.length - known.length);
      return new Map(known);
    } catch (err) {
      debug('%s: taken as no record: %s', FORWARDING_RECORD, (err as Error).message);
      return new Map();
    }
  }
}
