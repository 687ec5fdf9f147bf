// The shape of `docker network inspect` (Docker's NetworkResource in api/types/network), which
// Network.inspect() reproduces field for field.

/** One IPAM pool as Docker shows it (IPAMConfig). */
export interface DockerIpamConfig {
  Subnet: string;
  IPRange?: string;
  /** The gateway address, without a prefix length. */
  Gateway: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** A container joined to the network, by container id (EndpointResource). */
export interface DockerNetworkEndpoint {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  /** "172.18.0.2/16", or '' on networks without addresses. */
  IPv4Address: string;
  IPv6Address: string;
}

/** What `Network.inspect()` returns: one element of `docker network inspect`'s array. */
export interface NetworkInspect {
  Name: string;
  Id: string;
  /** ISO 8601. */
  Created: string;
  Scope: 'local';
  Driver: string;
  /** Docker 28's field: false for an IPv6-only network. */
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string>; Config: DockerIpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, DockerNetworkEndpoint>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}
