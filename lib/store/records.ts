// What the controller keeps on disk: one JSON record per network, endpoint and sandbox, and the
// checks a record must pass to be loaded (a record that fails them is skipped with a warning).
import type { BoundPort, InterfaceInfo, JoinInfo } from '../drivers/api';
import type { NetworkPools } from '../network-pools';
import type { EndpointOptions, NetworkOptions } from '../options';
import type { SandboxDnsConfig } from '../sandbox-files';
import { checkBoundPorts, checkDnsConfig, checkEndpointOptions, checkLabels, checkNetworkOptions, checkPriority, DNS_KEYS } from '../option-checks';
import { checkName, plainObject } from '../util/checks';

/** The format of the records; a record of another version is skipped. */
export const STATE_VERSION = 1;

export type RecordKind = 'network' | 'endpoint' | 'sandbox';

/** A sandbox's own namespace, the host's, or another sandbox's (container mode). */
export type SandboxMode = 'namespace' | 'host' | 'container';

export interface NetworkRecord {
  version: number;
  kind: 'network';
  id: string;
  name: string;
  type: string;
  created: string;
  predefined: boolean;
  options: NetworkOptions;
  /** The pools IPAM gave the network, with their gateways and aux addresses. */
  pools: NetworkPools;
  /** What the driver keeps about the network (Driver.networkState). */
  driver?: unknown;
}

/** An endpoint joined to a sandbox, kept in the sandbox's record. */
export interface AttachmentRecord {
  endpointId: string;
  ifname: string;
  priority: number;
  /** The join's position among the sandbox's joins (ties in priority go to the first). */
  order: number;
  info: JoinInfo;
  /** The ports it published as the sandbox's gateway endpoint, as bound. */
  published: BoundPort[] | null;
  /** What the driver keeps about the joined endpoint (Driver.endpointState). */
  driver?: unknown;
}

export interface EndpointRecord {
  version: number;
  kind: 'endpoint';
  id: string;
  name: string;
  networkId: string;
  iface: InterfaceInfo;
  options: EndpointOptions;
  driver?: unknown;
}

export interface SandboxRecord {
  version: number;
  kind: 'sandbox';
  id: string;
  containerId: string;
  mode: SandboxMode;
  /** The namespace path; for host mode it is recomputed at restore. */
  key: string;
  /** The namespace's file name, for a namespace cnm-ts made. */
  namespaceName: string | null;
  owned: boolean;
  config: SandboxDnsConfig;
  labels: Record<string, string>;
  /** The host's nameservers, search domains and options when the sandbox was made (records of older versions lack the last two: none). */
  hostServers: string[];
  hostSearch?: string[];
  hostOptions?: string[];
  /** Its joined endpoints: a join or leave rewrites only the sandbox's record. */
  attachments: AttachmentRecord[];
}

export type StateRecord = NetworkRecord | EndpointRecord | SandboxRecord;

const ID = /^[0-9a-f]{64}$/;
const MODES = ['namespace', 'host', 'container'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isStringMap = (v: unknown) => isObject(v) && Object.values(v).every(isString);

function checkPool(p: unknown): boolean {
  return isObject(p) && isString(p.poolId) && isString(p.pool) && isString(p.gateway) && isString(p.addressSpace) && isStringMap(p.auxAddresses);
}

function checkAttachment(a: unknown): boolean {
  return (
    isObject(a) &&
    isString(a.endpointId) &&
    ID.test(a.endpointId) &&
    isString(a.ifname) &&
    passes(() => checkPriority(a.priority)) &&
    typeof a.order === 'number' &&
    isObject(a.info) &&
    (a.published === null || passes(() => checkBoundPorts(a.published)))
  );
}

/** Whether `check` accepts (the same checks as the public API's, so what it took loads again). */
function passes(check: () => unknown): boolean {
  return optionProblem(check) === null;
}

/** What `check` refuses, or null. */
function optionProblem(check: () => unknown): string | null {
  try {
    check();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Why the record is not loadable, or null if it is. */
function problem(kind: RecordKind, r: Record<string, unknown>): string | null {
  switch (kind) {
    case 'network': {
      const pools = r.pools;
      if (!isString(r.name) || !isString(r.type) || !isString(r.created) || typeof r.predefined !== 'boolean') return 'missing name, type or dates';
      const options = optionProblem(() => (checkName(r.name, 'name'), checkNetworkOptions(r.options)));
      if (options) return options;
      if (!isObject(pools) || !Array.isArray(pools.v4) || !Array.isArray(pools.v6)) return 'pools are not { v4, v6 }';
      return [...pools.v4, ...pools.v6].every(checkPool) ? null : 'a pool is malformed';
    }
    case 'endpoint':
      if (!isString(r.name) || !isString(r.networkId) || !ID.test(r.networkId)) return 'missing name or network id';
      if (!isObject(r.iface)) return 'interface is not an object';
      return optionProblem(() => (checkName(r.name, 'name'), checkEndpointOptions(r.options)));
    case 'sandbox':
      if (!isString(r.containerId) || !isString(r.key) || !MODES.includes(r.mode as string)) return 'missing container id, key or mode';
      if (!(r.namespaceName === null || isString(r.namespaceName)) || typeof r.owned !== 'boolean') return 'namespace is malformed';
      const options = optionProblem(() => {
        // They become resolv.conf lines, as the dns option does.
        checkDnsConfig({ dns: r.hostServers, dnsSearch: r.hostSearch ?? [], dnsOptions: r.hostOptions ?? [] });
        checkName(r.containerId, 'container id');
        checkDnsConfig(plainObject(r.config, 'config', DNS_KEYS));
        checkLabels(r.labels);
      });
      if (options) return options;
      return Array.isArray(r.attachments) && r.attachments.every(checkAttachment) ? null : 'attachments are malformed';
  }
}

/**
 * Parses one record file's content. Throws an Error saying why for content that is not JSON, of
 * another version or kind, or whose id is not the file's.
 */
export function parseRecord(kind: RecordKind, id: string, content: string): StateRecord {
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch {
    throw new Error('not JSON (truncated?)');
  }
  if (!isObject(data)) throw new Error('not a JSON object');
  if (data.version !== STATE_VERSION) throw new Error(`version ${JSON.stringify(data.version)} is not ${STATE_VERSION}`);
  if (data.kind !== kind) throw new Error(`kind ${JSON.stringify(data.kind)} is not ${kind}`);
  if (data.id !== id || !ID.test(id)) throw new Error('its id is not its file name');
  const why = problem(kind, data);
  if (why) throw new Error(why);
  return data as unknown as StateRecord;
}
