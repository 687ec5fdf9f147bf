// The options the controller takes (its own and newSandbox's) and their checks. They name the
// controller's events and the Sandbox class, so they sit beside them, not in the leaf options.ts.
import { invalidArgument } from './errors';
import type { Ipam, PredefinedPool } from './ipam';
import { checkIpam } from './ipam-caller';
import type { Kernel } from './native/handle';
import { validateIfname, validatePath } from './native/validate';
import { checkDefaultAddressPools, checkDnsConfig, checkLabels, SANDBOX_KEYS } from './option-checks';
import type { ControllerEvents } from './controller';
import type { Sandbox } from './sandbox';
import type { SandboxDnsConfig } from './sandbox-files';
import { checkBoolean, checkInteger, checkString, compact, optional, plainObject, show } from './util/checks';

/**
 * A controller's options; `Ipams`, the names of its `ipams` (the controller's IPAM names, typed).
 * libnetwork: the controller's config options; docker: dockerd's flags.
 */
export interface ControllerOptions<Ipams extends string = string> {
  /**
   * Where the controller keeps its state (records of networks, endpoints and sandboxes; sandbox
   * hosts / resolv.conf) and its lock. Default /var/lib/cnm-ts. One controller at a time per directory.
   */
  stateDir?: string;
  /**
   * Where the controller keeps what a reboot takes away anyway (sandbox records, their hosts and
   * resolv.conf), in a folder named after the state directory's mark. Default /run/cnm-ts, a
   * tmpfs: these files are written twice per container and cost no disk there.
   */
  runDir?: string;
  /** Where sandbox namespaces are mounted. Default /run/netns, so `ip netns` sees them. */
  netnsDir?: string;
  /** Where `ip netns exec` looks for per-namespace files. Default /etc/netns. */
  etcNetnsDir?: string;
  /** The host's resolver configuration, read for DNS servers. Default /etc/resolv.conf. */
  hostResolvConf?: string;
  /**
   * systemd-resolved's list of the real upstream servers, read instead of `hostResolvConf` when
   * that lists only its stub 127.0.0.53 (and other loopback servers). Default
   * /run/systemd/resolve/resolv.conf.
   */
  systemdResolvConf?: string;
  /** Make the predefined networks none, host and bridge, like Docker. Default true. */
  predefinedNetworks?: boolean;
  /** The default bridge network's device. Default 'cnm0'. */
  defaultBridgeName?: string;
  /**
   * At start, keep the sandboxes an earlier controller left whose namespace is still there, with
   * their joined endpoints (like Docker's live-restore). Default true. With false, every restored
   * sandbox is deleted at start (its endpoints stay, not joined).
   */
  liveRestore?: boolean;
  /** Listeners attached before the controller starts, so that they hear what happens at restore. */
  listeners?: { [E in keyof ControllerEvents]?: (...args: ControllerEvents[E]) => void };
  /**
   * The kernel the controller, its drivers and its objects work on. Default: the addon. Tests pass
   * a fake one (see the unit tests' FakeKernel) to run the controller's logic without root.
   */
  kernel?: Kernel;
  /**
   * IPAM drivers of your own by name, registered before the restore (see `registerIpam`), so that
   * networks that use them come back at a restart.
   */
  ipams?: Record<Ipams, Ipam>;
  /** How long a registered IPAM's call may take before it fails with IPAM_FAILED. Default 10000 ms. */
  ipamTimeoutMs?: number;
  /**
   * The host is meant to route between its interfaces (Docker's `--ip-forward-no-drop`). Without
   * it, for each family whose forwarding cnm-ts is the one to switch on (`net.ipv4.ip_forward`,
   * `net.ipv6.conf.all.forwarding`), its firewall drops forwarding of that family that neither
   * comes from nor goes to a cnm-ts device; a family the host forwarded before is left alone.
   * Default false.
   */
  ipForwardNoDrop?: boolean;
  /**
   * The pools networks without a subnet are carved from (Docker's `default-address-pools`): a
   * list of { base, size }, e.g. { base: '10.10.0.0/16', size: 24 } (256 networks of /24) or
   * { base: 'fd00:1::/56', size: 64 }. The entries of a family replace the default pools of that
   * family: IPv4, Docker's 172.17.0.0/16 ... 172.31.0.0/16 and 192.168.0.0/16 in /20s; IPv6, the
   * host's ULA /48 in /64s (see `hostId`). Pools in use stay with their networks across restarts,
   * also when this list changes.
   */
  defaultAddressPools?: PredefinedPool[];
  /**
   * A stable identity of the host, from which the default IPv6 pool is derived: a ULA /48
   * (fdXX:XXXX:XXXX::/48, the low 40 bits of the first 8 bytes of its SHA-256 as Global ID, as
   * Docker derives its own from its engine id). Default: the content of /etc/machine-id (systemd's
   * machine id, stable across restarts, no network needed). Without either, and without IPv6
   * entries in `defaultAddressPools`, an IPv6 network needs an IPv6 subnet (INVALID_ARGUMENT).
   */
  hostId?: string;
}

/** A sandbox's options: hostname, DNS and extra hosts (see SandboxDnsConfig), and its mode. */
export interface SandboxOptions extends SandboxDnsConfig {
  /** Host mode: the sandbox is the host's own namespace. */
  useDefaultSandbox?: boolean;
  /** Container mode: share this other sandbox's namespace. */
  shareWith?: Sandbox;
  labels?: Record<string, string>;
}

/** Checks a sandbox's options (`newSandbox`); returns a copy (`shareWith` stays the sandbox it names). */
export function checkSandboxOptions(value: unknown): SandboxOptions {
  const o = plainObject(value, 'sandbox options', [...SANDBOX_KEYS, 'useDefaultSandbox', 'shareWith']);
  return compact({
    ...checkDnsConfig(o),
    labels: optional(o.labels, checkLabels),
    useDefaultSandbox: optional(o.useDefaultSandbox, (v) => checkBoolean(v, 'useDefaultSandbox')),
    shareWith: o.shareWith as Sandbox | undefined,
  });
}

// Keyed by event so that an event added to ControllerEvents but not here is a type error.
const EVENTS = Object.keys({
  'network:create': true,
  'network:destroy': true,
  'endpoint:create': true,
  'endpoint:delete': true,
  'network:connect': true,
  'network:disconnect': true,
  'sandbox:create': true,
  'sandbox:destroy': true,
  'endpoint:ports-unavailable': true,
  'state:warning': true,
} satisfies Record<keyof ControllerEvents, true>);

/**
 * Checks the types of a controller's options (`NetworkController.create`); what the folders may be
 * is checked where they are prepared.
 */
export function checkControllerOptions(value: unknown): ControllerOptions {
  const o = plainObject(value, 'controller options', [
    'stateDir',
    'runDir',
    'netnsDir',
    'etcNetnsDir',
    'hostResolvConf',
    'systemdResolvConf',
    'predefinedNetworks',
    'defaultBridgeName',
    'liveRestore',
    'listeners',
    'kernel',
    'ipams',
    'ipamTimeoutMs',
    'ipForwardNoDrop',
    'defaultAddressPools',
    'hostId',
  ]);
  const listeners = optional(o.listeners, (v) => plainObject(v, 'listeners', EVENTS));
  for (const [event, listener] of Object.entries(listeners ?? {})) {
    if (typeof listener !== 'function') throw invalidArgument(`listeners.${event} must be a function, got ${show(listener)}`);
  }
  return compact({
    stateDir: optional(o.stateDir, (v) => checkString(v, 'stateDir')),
    runDir: optional(o.runDir, (v) => checkString(v, 'runDir')),
    netnsDir: optional(o.netnsDir, (v) => checkString(v, 'netnsDir')),
    etcNetnsDir: optional(o.etcNetnsDir, (v) => checkString(v, 'etcNetnsDir')),
    hostResolvConf: optional(o.hostResolvConf, (v) => validatePath(v, 'hostResolvConf')),
    systemdResolvConf: optional(o.systemdResolvConf, (v) => validatePath(v, 'systemdResolvConf')),
    predefinedNetworks: optional(o.predefinedNetworks, (v) => checkBoolean(v, 'predefinedNetworks')),
    defaultBridgeName: optional(o.defaultBridgeName, (v) => validateIfname(v, 'defaultBridgeName')),
    liveRestore: optional(o.liveRestore, (v) => checkBoolean(v, 'liveRestore')),
    ipForwardNoDrop: optional(o.ipForwardNoDrop, (v) => checkBoolean(v, 'ipForwardNoDrop')),
    defaultAddressPools: optional(o.defaultAddressPools, checkDefaultAddressPools),
    hostId: optional(o.hostId, checkHostId),
    listeners: listeners && { ...listeners },
    kernel: optional(o.kernel, checkKernel),
    ipams: optional(o.ipams, (v) => {
      const ipams = plainObject(v, 'ipams');
      for (const [name, ipam] of Object.entries(ipams)) checkIpam(ipam, `ipams.${name}`);
      return { ...ipams } as Record<string, Ipam>;
    }),
    ipamTimeoutMs: optional(o.ipamTimeoutMs, (v) => checkInteger(v, 'ipamTimeoutMs', 1, 2 ** 31 - 1)),
  }) as ControllerOptions;
}

function checkHostId(value: unknown): string {
  const id = checkString(value, 'hostId');
  if (id.trim() === '') throw invalidArgument('hostId must not be empty');
  return id;
}

function checkKernel(value: unknown): Kernel {
  const kernel = value as Partial<Kernel> | null;
  const methods = ['batch', 'waitLinksGone', 'checkPrivileges'] as const;
  if (typeof kernel !== 'object' || kernel === null || methods.some((m) => typeof kernel[m] !== 'function')) {
    throw invalidArgument(`kernel must have the methods ${methods.join(', ')}, got ${show(value)}`);
  }
  return kernel as Kernel;
}
