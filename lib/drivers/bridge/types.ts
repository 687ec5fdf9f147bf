// What the bridge driver keeps about its networks and joined endpoints (also what restore plans from).
import type { InterfaceInfo } from '../api';
import type { BridgeConfig } from './options';
import type { HeldPort } from './ports';

/** A bridge network as the driver sees it. */
export interface BridgeNetwork {
  config: BridgeConfig;
  /**
   * The device that holds the bridge name instead of the network's bridge, found at restore (see
   * ownership.ts): it is left alone, and the network takes no joins; null normally.
   */
  foreign: string | null;
  internal: boolean;
  /** The IPv4 subnet, for masquerade. */
  subnet: string | null;
  gateway: string | null; // without prefix length
  gatewayIPv6: string | null;
}

export interface BridgeEndpoint {
  networkId: string;
  hostIfname: string;
  iface: InterfaceInfo;
  /** Its published ports, while it is its sandbox's gateway endpoint. */
  ports: HeldPort[];
}
