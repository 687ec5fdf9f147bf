// The built-in drivers and the predefined networks, wired here so that the controller names no
// driver and no driver option (libnetwork's drivers_linux.go and default_gateway_linux.go).
import type { Driver, DriverOptions } from './drivers/api';
import type { Kernel } from './native';
import { BridgeDriver } from './drivers/bridge/driver';
import { BRIDGE_NAME, DEFAULT_BRIDGE } from './drivers/bridge/options';
import { HostDriver } from './drivers/host';
import { MacvlanDriver } from './drivers/macvlan/driver';
import { NullDriver } from './drivers/null';

/** A network a controller makes at start when missing, as Docker makes none, host and bridge. */
export interface PredefinedNetwork {
  type: string;
  name: string;
  driverOptions?: DriverOptions;
}

/** What the built-in drivers take from the controller's options. */
export interface BuiltinDriverOptions {
  stateDir: string;
  ipForwardNoDrop: boolean;
}

/** A new instance of each built-in driver, on the controller's kernel: each controller has its own. */
export function builtinDrivers(kernel: Kernel, options: BuiltinDriverOptions): Driver[] {
  const bridge = new BridgeDriver(kernel, { stateDir: options.stateDir, noDrop: options.ipForwardNoDrop });
  return [new NullDriver(), new HostDriver(), bridge, new MacvlanDriver(kernel)];
}

/** The predefined networks, in the order they are made; the default bridge on `defaultBridgeName`. */
export function predefinedNetworks(defaultBridgeName: string): PredefinedNetwork[] {
  return [
    { type: 'null', name: 'none' },
    { type: 'host', name: 'host' },
    { type: 'bridge', name: 'bridge', driverOptions: { [BRIDGE_NAME]: defaultBridgeName, [DEFAULT_BRIDGE]: 'true' } },
  ];
}
