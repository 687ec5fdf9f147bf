// The bridge driver's options: Docker's labels (`docker network create -o KEY=VALUE`).
import { invalidArgument } from '../../errors';
import { validateIfname } from '../../native/validate';
import { checkHostIP } from '../../option-checks';
import { compact } from '../../util/checks';
import type { DriverOptions } from '../api';
import { ANY_ADDRESS, familyOf } from './ports';

export const BRIDGE_NAME = 'com.docker.network.bridge.name';
import { MTU, parseMtu } from '../common';

export { MTU };
export const ENABLE_ICC = 'com.docker.network.bridge.enable_icc';
export const ENABLE_IP_MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const HOST_BINDING_IPV4 = 'com.docker.network.bridge.host_binding_ipv4';
export const DEFAULT_BRIDGE = 'com.docker.network.bridge.default_bridge';
export const GATEWAY_MODE = { 4: 'com.docker.network.bridge.gateway_mode_ipv4', 6: 'com.docker.network.bridge.gateway_mode_ipv6' } as const;
export const HOST_IP = { 4: 'com.docker.network.host_ipv4', 6: 'com.docker.network.host_ipv6' } as const;
export const INHIBIT_IPV4 = 'com.docker.network.bridge.inhibit_ipv4';

const KNOWN = new Set([
  BRIDGE_NAME,
  MTU,
  ENABLE_ICC,
  ENABLE_IP_MASQUERADE,
  HOST_BINDING_IPV4,
  DEFAULT_BRIDGE,
  ...Object.values(GATEWAY_MODE),
  ...Object.values(HOST_IP),
  INHIBIT_IPV4,
]);

/**
 * Docker's gateway modes, per address family: `nat` (masquerade, published ports on host ports,
 * nothing else in), `nat-unprotected` (the same, but any container port is reached by a host with
 * a route to the subnet), `routed` (no NAT: published ports open the container's own address and
 * port, nothing else in), `isolated` (internal networks only: no address on the bridge).
 */
export const GATEWAY_MODES = ['nat', 'nat-unprotected', 'routed', 'isolated'] as const;
/** One of GATEWAY_MODES. */
export type GatewayMode = (typeof GATEWAY_MODES)[number];

export interface BridgeConfig {
  bridgeName: string;
  mtu?: number;
  enableIcc: boolean;
  enableIpMasquerade: boolean;
  hostBindingIpv4: string;
  /** The default bridge network (Docker's default_bridge option): errors name the controller option that sets it. */
  defaultBridge: boolean;
  /** Per family, the gateway mode (default nat). */
  gatewayMode: Record<4 | 6, GatewayMode>;
  /** Per family, the fixed source address outgoing traffic is SNATed to, instead of masquerade. */
  hostIp: Partial<Record<4 | 6, string>>;
  /** No IPv4 gateway address on the bridge (someone else's router gives it). */
  inhibitIpv4: boolean;
}

function parseGatewayMode(options: DriverOptions, family: 4 | 6): GatewayMode {
  const value = options[GATEWAY_MODE[family]] ?? 'nat';
  if (!(GATEWAY_MODES as readonly string[]).includes(value)) {
    throw invalidArgument(`${GATEWAY_MODE[family]} must be one of ${GATEWAY_MODES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as GatewayMode;
}

/** The SNAT source of a family: a unicast address of that family. */
function parseHostIp(options: DriverOptions, family: 4 | 6): string | undefined {
  const value = options[HOST_IP[family]];
  if (value === undefined) return undefined;
  checkHostIP(value, HOST_IP[family]);
  if (familyOf(value) !== family || value === ANY_ADDRESS[family]) {
    throw invalidArgument(`${HOST_IP[family]} must be an IPv${family} address of the host, got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseBool(options: DriverOptions, key: string, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw invalidArgument(`${key} must be "true" or "false", got ${JSON.stringify(value)}`);
}

/** Reads and checks the driver options; `defaultName` is used without com.docker.network.bridge.name. */
export function parseBridgeOptions(options: DriverOptions, defaultName: string): BridgeConfig {
  for (const [key, value] of Object.entries(options)) {
    if (typeof value !== 'string') throw invalidArgument(`driver option ${key} must be a string, got ${typeof value}`);
    if (key.startsWith('com.docker.network.') && !KNOWN.has(key)) {
      throw invalidArgument(`bridge driver option ${key} is not supported`);
    }
  }
  const bridgeName = validateIfname(options[BRIDGE_NAME] ?? defaultName, BRIDGE_NAME);
  const mtu = parseMtu(options);
  const hostBindingIpv4 = options[HOST_BINDING_IPV4] ?? '0.0.0.0';
  // Despite its name, an IPv6 address too (as in Docker): 0.0.0.0 means both families, "::" IPv6 only.
  checkHostIP(hostBindingIpv4, HOST_BINDING_IPV4);
  return {
    bridgeName,
    mtu,
    enableIcc: parseBool(options, ENABLE_ICC, true),
    enableIpMasquerade: parseBool(options, ENABLE_IP_MASQUERADE, true),
    hostBindingIpv4,
    defaultBridge: parseBool(options, DEFAULT_BRIDGE, false),
    gatewayMode: { 4: parseGatewayMode(options, 4), 6: parseGatewayMode(options, 6) },
    hostIp: compact({ 4: parseHostIp(options, 4), 6: parseHostIp(options, 6) }),
    inhibitIpv4: parseBool(options, INHIBIT_IPV4, false),
  };
}
