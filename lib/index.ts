// `cnm-ts`: libnetwork's CNM objects, their options and errors, and the driver and IPAM APIs.
// The kernel operations are `cnm-ts/kernel`, fault injection for tests `cnm-ts/testing`.
export { NetworkController, type ControllerEvents } from './controller';
export type { RestoreReport } from './restore';
export type { StateWarning } from './store/store';
export { Network, type NetworkInfo } from './network';
export type { AllocatedPool } from './network-pools';
export type { NetworkInspect, DockerIpamConfig, DockerNetworkEndpoint } from './docker-inspect';
export { Endpoint, type EndpointInfo, type EndpointInfoFields, type EndpointPorts, type UnpublishedPorts } from './endpoint';
export { Sandbox, type SandboxMode } from './sandbox';
export type {
  BoundPort,
  BuiltinIpamName,
  BuiltinNetworkType,
  EndpointOptions,
  ExposedPort,
  IpamName,
  IpamOptions,
  IpamPoolConfig,
  JoinOptions,
  NetworkOptions,
  NetworkType,
  PortBinding,
} from './options';
export type { ControllerOptions, SandboxOptions } from './controller-options';
export type { SandboxDnsConfig } from './sandbox-files';
export type {
  Driver,
  DriverOptions,
  ExternalConnectivity,
  InterfaceInfo,
  IpamData,
  JoinInfo,
  JoinSandboxOps,
  JoinTarget,
  NetworkCreateInfo,
  RestoreContext,
  RestoredEndpoint,
  RestoredNetwork,
  RestoreResult,
  RestoreWarning,
} from './drivers/api';
export { NullDriver } from './drivers/null';
export { HostDriver } from './drivers/host';
export { BridgeDriver } from './drivers/bridge/driver';
export { MacvlanDriver } from './drivers/macvlan/driver';
export * from './ipam';
export { CnmError, type CnmErrorCode } from './errors';
// What CNM methods reject with when the kernel refuses, and what Sandbox.statistics() returns.
export { NetlinkError } from './native/netlink-error';
export type { LinkStats } from './native/types';
export type { Kernel } from './native/handle';
export type { DnsPump } from './native/dns-pump';
export type { DnsChannelNumber, DnsMessage, DnsSockets } from './native/types';
