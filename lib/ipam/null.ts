// The null IPAM (libnetwork's ipams/null): one pool that holds everything and hands out nothing,
// for networks whose addresses come from elsewhere (a driver, or the caller inside the sandbox).
import { invalidArgument } from '../errors';
import type { Ipam, IpamCapabilities, PoolRequest, PoolResult } from './types';

/** The null IPAM's only address space (ipamapi's NullAddressSpace). */
export const NULL_ADDRESS_SPACE = 'null';
/** Its only pools: every address of a family. */
const ANY = { v4: '0.0.0.0/0', v6: '::/0' };

/**
 * libnetwork's null IPAM: requestPool gives the whole address space of the family (0.0.0.0/0 or
 * ::/0) and requestAddress gives no address (null), the gateway included. A network on it has no
 * gateway, and its endpoints no address unless their driver sets one.
 */
export class NullIpam implements Ipam {
  /** Both default address spaces are 'null'. */
  getDefaultAddressSpaces(): { local: string; global: string } {
    return { local: NULL_ADDRESS_SPACE, global: NULL_ADDRESS_SPACE };
  }

  /** The whole address space; INVALID_ARGUMENT for any other pool, sub-pool or address space. */
  requestPool(request: PoolRequest): PoolResult {
    const any = request.v6 === true ? ANY.v6 : ANY.v4;
    if ((request.pool && request.pool !== any) || request.subPool) {
      throw invalidArgument(`the null IPAM has only the pool ${any}, not ${request.subPool ?? request.pool}`);
    }
    if (request.addressSpace !== undefined && request.addressSpace !== NULL_ADDRESS_SPACE) {
      throw invalidArgument(`the null IPAM has only the address space ${NULL_ADDRESS_SPACE}, not ${request.addressSpace}`);
    }
    return { poolId: `${NULL_ADDRESS_SPACE}/${any}`, pool: any, meta: {} };
  }

  /** Nothing to free. */
  releasePool(): void {}

  /** No address (null); INVALID_ARGUMENT when one is asked for: this IPAM cannot reserve it. */
  requestAddress(_poolId: string, address?: string): string | null {
    if (address !== undefined) throw invalidArgument(`the null IPAM hands out no addresses, not ${address}`);
    return null;
  }

  /** Nothing to free. */
  releaseAddress(): void {}

  /** Stateless: nothing to replay at a restart. */
  capabilities(): IpamCapabilities {
    return { requiresRequestReplay: false };
  }
}
