// The host's IPv4 forwarding (net.ipv4.ip_forward), which outside access and published ports need.
// When cnm-ts is the one that switches it on, it first records the value it found in the state
// directory (durably, in the same trip as the switch), so that:
// - its firewall drops forwarding that neither comes from nor goes to a cnm-ts device: the host
//   does not become a router between its other interfaces (Docker sets iptables' FORWARD policy to
//   DROP for that reason when it enables forwarding), unless the controller's `ipForwardNoDrop`;
// - stop({ removeAll: true }) puts the value back once no cnm-ts bridge is left on the host.
// Forwarding that was on before cnm-ts is the host's own business: no record, no drop.
import { constants } from 'node:os';
import createDebug from '../../util/debug';
import { runOne, type Kernel, type LinkInfo, type NativeOp } from '../../native';
import { ALIAS_PREFIX } from './ownership';

const debug = createDebug('cnm:bridge');

const KEY = 'net/ipv4/ip_forward';
/** The record: the value of ip_forward before cnm-ts switched it on ({"net.ipv4.ip_forward":"0"}). */
export const FORWARDING_RECORD = 'forwarding.json';
const RECORD_KEY = 'net.ipv4.ip_forward';

export interface ForwardingOptions {
  /** The controller's state directory, where the record is kept. */
  stateDir: string;
  /** The host is meant to route: no drop of other forwarding (Docker's `--ip-forward-no-drop`). */
  noDrop: boolean;
}

export class Forwarding {
  /** The value found before cnm-ts switched forwarding on; null when it did not (or put it back). */
  private prior: string | null = null;
  private loaded: Promise<void> | null = null;

  constructor(
    private readonly kernel: Kernel,
    private readonly options: ForwardingOptions,
  ) {}

  /** Whether the firewall drops forwarding between interfaces that are not cnm-ts bridges. */
  get dropsOthers(): boolean {
    return this.prior !== null && !this.options.noDrop;
  }

  /** Reads the record left by an earlier controller on the state directory (once). */
  load(): Promise<void> {
    this.loaded ??= this.readRecord().then((prior) => {
      this.prior ??= prior;
    });
    return this.loaded;
  }

  /**
   * The operations that switch forwarding on, for a network that needs it: when it is off, the
   * record of that first (durably), then the switch.
   */
  async switchOnOps(): Promise<NativeOp[]> {
    await this.load();
    const on: NativeOp = { op: 'sysctlSet', key: KEY, value: '1' };
    if (this.prior !== null) return [on];
    const found = (await runOne(this.kernel, { op: 'sysctlGet', key: KEY })).trim();
    if (found !== '0') return [on];
    this.prior = found;
    const content = JSON.stringify({ [RECORD_KEY]: found });
    return [{ op: 'writeFiles', base: this.options.stateDir, atomic: true, durable: true, files: [{ path: FORWARDING_RECORD, content, mode: 0o600 }] }, on];
  }

  /**
   * Puts back the value cnm-ts found, unless a cnm-ts bridge (of any controller: they carry the
   * alias mark) is still on the host: its network may need forwarding. Then the record goes.
   */
  async putBack(): Promise<void> {
    await this.load();
    if (this.prior === null) return;
    const links: LinkInfo[] = await runOne(this.kernel, { op: 'linkList' });
    if (links.some((l) => l.kind === 'bridge' && l.alias?.startsWith(ALIAS_PREFIX))) return;
    await this.kernel.batch([
      { op: 'sysctlSet', key: KEY, value: this.prior },
      { op: 'removePaths', base: this.options.stateDir, durable: true, paths: [FORWARDING_RECORD] },
    ]);
    this.prior = null;
  }

  private async readRecord(): Promise<string | null> {
    const [read] = await runOne(this.kernel, { op: 'readFiles', base: this.options.stateDir, paths: [FORWARDING_RECORD] });
    // No record: cnm-ts did not switch forwarding on. An unreadable one is taken as none.
    if ('error' in read) {
      if (read.errno !== constants.errno.ENOENT) debug('%s: taken as no record: %s', FORWARDING_RECORD, read.error);
      return null;
    }
    try {
      const value = (JSON.parse(read.content) as Record<string, unknown>)[RECORD_KEY];
      return typeof value === 'string' && /^[0-9]$/.test(value) ? value : null;
    } catch (err) {
      debug('%s: taken as no record: %s', FORWARDING_RECORD, (err as Error).message);
      return null;
    }
  }
}
