import type { Driver, JoinInfo } from './api';

const nothing: JoinInfo = { ifname: null, gateway: null, gatewayIPv6: null, staticRoutes: [] };

/**
 * The null driver (network mode "none"): endpoints on it get no interface, so a sandbox that
 * joins it has only `lo`.
 */
export class NullDriver implements Driver {
  readonly type: string = 'null';
  async createNetwork(): Promise<void> {}
  async deleteNetwork(): Promise<void> {}
  async createEndpoint(): Promise<void> {}
  async deleteEndpoint(): Promise<void> {}
  async join(): Promise<JoinInfo> {
    return nothing;
  }
  async leave(): Promise<void> {}
}
