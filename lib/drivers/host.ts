import { NullDriver } from './null';

/**
 * The host driver (network mode "host"): the sandbox is the host's own namespace, so there is
 * nothing to create; only host-mode sandboxes may join it.
 */
export class HostDriver extends NullDriver {
  override readonly type = 'host';
}
