// What the bridge driver keeps about its networks and joined endpoints (also what restore plans from).
import type { InterfaceInfo, IpamData } from '../api';
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
  /** The IPv4 and IPv6 subnets with a gateway on the bridge, for masquerade (not the null IPAM's 0.0.0.0/0). */
  subnets: string[];
  /** The pools, whose gateways are on the bridge: an endpoint's gateway is its subnet's. */
  ipv4: IpamData[];
  ipv6: IpamData[];
}

export interface BridgeEndpoint {
  networkId: string;
  hostIfname: string;
  iface: InterfaceInfo;
  /** Its published ports, while it is its sandbox's gateway endpoint. */
  ports: HeldPort[];
}
