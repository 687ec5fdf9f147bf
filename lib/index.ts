// The public API of cnm-ts: libnetwork's CNM objects, the driver and IPAM APIs, and the kernel
// operations they are built on.
export { NetworkController, type ControllerEvents } from './controller';
export type { RestoreReport } from './restore';
export type { StateWarning } from './store/store';
export { Network, type NetworkInfo } from './network';
export type { AllocatedPool } from './network-pools';
export { Endpoint, type EndpointInfo, type UnpublishedPorts } from './endpoint';
export { Sandbox, type SandboxMode } from './sandbox';
export * from './options';
export type { ControllerOptions, SandboxOptions } from './controller-options';
export type { SandboxDnsConfig } from './sandbox-files';
export type {
  Driver,
  DriverOptions,
  ExternalConnectivity,
  InterfaceInfo,
  IpamData,
  JoinInfo,
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
export * from './ipam';
export * from './native';
export { CnmError, type CnmErrorCode } from './errors';
