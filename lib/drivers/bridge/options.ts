// The bridge driver's options: Docker's labels (`docker network create -o KEY=VALUE`).
import { invalidArgument } from '../../errors';
import { validateIfname } from '../../native/validate';
import { checkHostIP } from '../../option-checks';
import type { DriverOptions } from '../api';

export const BRIDGE_NAME = 'com.docker.network.bridge.name';
import { MTU, parseMtu } from '../common';

export { MTU };
export const ENABLE_ICC = 'com.docker.network.bridge.enable_icc';
export const ENABLE_IP_MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const HOST_BINDING_IPV4 = 'com.docker.network.bridge.host_binding_ipv4';
export const DEFAULT_BRIDGE = 'com.docker.network.bridge.default_bridge';

const KNOWN = new Set([BRIDGE_NAME, MTU, ENABLE_ICC, ENABLE_IP_MASQUERADE, HOST_BINDING_IPV4, DEFAULT_BRIDGE]);

export interface BridgeConfig {
  bridgeName: string;
  mtu?: number;
  enableIcc: boolean;
  enableIpMasquerade: boolean;
  hostBindingIpv4: string;
  /** The default bridge network (Docker's default_bridge option): errors name the controller option that sets it. */
  defaultBridge: boolean;
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
  };
}
