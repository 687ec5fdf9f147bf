// How the controller calls an IPAM: the built-in ones directly, a registered one (registerIpam)
// behind a guard. The guard waits at most a timeout, names the IPAM in every error, and checks each
// answer (a pool of the family asked for, an address inside its pool and free on the network)
// before the controller records anything, so that a misbehaving IPAM cannot corrupt its state.
import createDebug from './util/debug';
import { CnmError } from './errors';
import type { Ipam, MaybePromise, PoolRequest, PoolResult } from './ipam';
import { containsAddress, parseAddress, parsePrefix, formatPrefix, type Prefix } from './ipam/prefix';
import { parseCidr } from './util/ip';
import { show } from './util/checks';

const debug = createDebug('cnm:ipam');

/** A pool as the network holds it: the IPAM's id and the CIDR. */
export interface PoolRef {
  poolId: string;
  pool: string;
}

/** The methods a registered IPAM must have. */
const METHODS = ['getDefaultAddressSpaces', 'requestPool', 'releasePool', 'requestAddress', 'releaseAddress'] as const;

/** Throws INVALID_ARGUMENT unless `value` has the methods of an Ipam. */
export function checkIpam(value: unknown, what: string): Ipam {
  const ipam = value as Record<string, unknown> | null;
  if (typeof ipam !== 'object' || ipam === null || METHODS.some((m) => typeof ipam[m] !== 'function')) {
    throw new CnmError('INVALID_ARGUMENT', `${what} must have the methods ${METHODS.join(', ')}, got ${show(value)}`);
  }
  return value as Ipam;
}

/** An IPAM as a network uses it: every call asynchronous, and guarded unless the IPAM is built in. */
export class IpamCaller {
  /**
   * `timeoutMs` null: a built-in IPAM, called as it is (its answers are trusted, its errors
   * passed on unchanged). Otherwise each call must settle within `timeoutMs`.
   */
  constructor(
    readonly name: string,
    private readonly ipam: Ipam,
    private readonly timeoutMs: number | null,
  ) {}

  /** Whether a restart requests every pool and address again (ipamapi's RequiresRequestReplay). */
  get replays(): boolean {
    return this.ipam.capabilities?.().requiresRequestReplay ?? false;
  }

  /** The IPAM's local default address space. */
  async localAddressSpace(): Promise<string> {
    const spaces = await this.call('getDefaultAddressSpaces', () => this.ipam.getDefaultAddressSpaces());
    if (this.timeoutMs !== null && (typeof spaces !== 'object' || spaces === null || typeof spaces.local !== 'string' || spaces.local === '')) {
      throw this.failed(`getDefaultAddressSpaces returned ${show(spaces)}, not { local, global }`);
    }
    return spaces.local;
  }

  /** Reserves a pool; a registered IPAM's answer must be a pool of the family (and the CIDR) asked for. */
  async requestPool(request: PoolRequest): Promise<PoolResult> {
    const result = await this.call(
      'requestPool',
      () => this.ipam.requestPool(request),
      (late) => this.releaseLatePool(late),
    );
    if (this.timeoutMs === null) return result;
    const problem = poolProblem(result, request);
    if (problem) {
      if (typeof result?.poolId === 'string')
        await this.releasePool(result.poolId).catch((err: unknown) => debug('release of a bad pool: %s', (err as Error).message));
      throw this.failed(`requestPool(${show(request.pool ?? '(any)')}) returned ${show(result)}: ${problem}`);
    }
    return { poolId: result.poolId, pool: formatPrefix(parsePrefix(result.pool)), meta: { ...(result.meta ?? {}) } };
  }

  /** Frees a pool. */
  async releasePool(poolId: string): Promise<void> {
    await this.call('releasePool', () => this.ipam.releasePool(poolId));
  }

  /**
   * Reserves an address of `pool` (the given one, or any). A registered IPAM's answer must be
   * inside the pool with its prefix length, the address asked for if one was, and not `inUse` on
   * the network; a wrong answer is given back to it (unless it names an address in use) and
   * refused with IPAM_FAILED.
   */
  async requestAddress(pool: PoolRef, address?: string, options?: Record<string, string>, inUse?: (address: string) => boolean): Promise<string | null> {
    const result = await this.call(
      'requestAddress',
      () => this.ipam.requestAddress(pool.poolId, address, options),
      (late) => this.releaseLateAddress(pool, late),
    );
    if (this.timeoutMs === null) return result;
    const problem = addressProblem(result, pool, address, inUse);
    if (problem) {
      if (typeof result === 'string' && !problem.inUse) {
        await this.releaseAddress(pool, result).catch((err: unknown) => debug('release of a bad address: %s', (err as Error).message));
      }
      throw this.failed(`requestAddress(${pool.poolId}, ${address ?? '(any)'}) returned ${show(result)}: ${problem.why}`);
    }
    return result;
  }

  /** Frees an address of `pool`. */
  async releaseAddress(pool: PoolRef, address: string): Promise<void> {
    await this.call('releaseAddress', () => this.ipam.releaseAddress(pool.poolId, address));
  }

  /**
   * Runs one call of the IPAM: as it is for a built-in one; else within the timeout, its errors
   * named. What a call that timed out gives later is handed to `late` (to give it back).
   */
  private async call<T>(method: string, run: () => MaybePromise<T>, late?: (value: T) => unknown): Promise<T> {
    if (this.timeoutMs === null) return run();
    const pending = Promise.resolve().then(run);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // The controller goes on without the answer; whatever the IPAM gives later is given back.
        pending.then(
          (value) => late?.(value),
          () => undefined,
        );
        reject(new CnmError('IPAM_FAILED', `IPAM ${this.name} did not answer ${method} within ${this.timeoutMs} ms`));
      }, this.timeoutMs!);
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (err) {
      throw this.named(err, method);
    } finally {
      clearTimeout(timer);
    }
  }

  private async releaseLatePool(result: PoolResult): Promise<void> {
    if (typeof result?.poolId !== 'string') return;
    debug('IPAM %s answered requestPool late: releasing %s', this.name, result.poolId);
    await this.releasePool(result.poolId).catch((err: unknown) => debug('late release: %s', (err as Error).message));
  }

  private async releaseLateAddress(pool: PoolRef, address: string | null): Promise<void> {
    if (typeof address !== 'string') return;
    debug('IPAM %s answered requestAddress late: releasing %s', this.name, address);
    await this.releaseAddress(pool, address).catch((err: unknown) => debug('late release: %s', (err as Error).message));
  }

  /** An error of the IPAM with its name: a CnmError keeps its code; anything else is IPAM_FAILED. */
  private named(err: unknown, method: string): CnmError {
    if (err instanceof CnmError && err.message.startsWith(`IPAM ${this.name} `)) return err;
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof CnmError ? err.code : 'IPAM_FAILED';
    return new CnmError(code, `IPAM ${this.name} ${method}: ${message}`, { cause: err });
  }

  private failed(why: string): CnmError {
    return new CnmError('IPAM_FAILED', `IPAM ${this.name} ${why}`);
  }
}

/** What is wrong with a pool a registered IPAM returned, or null. */
function poolProblem(result: PoolResult | null | undefined, request: PoolRequest): string | null {
  if (typeof result !== 'object' || result === null) return 'not a { poolId, pool } object';
  if (typeof result.poolId !== 'string' || result.poolId === '') return 'no pool id';
  let prefix: Prefix;
  try {
    prefix = parsePrefix(result.pool, 'pool');
  } catch (err) {
    return (err as Error).message;
  }
  if ((prefix.family === 6) !== (request.v6 === true)) return `an IPv${prefix.family} pool was not asked for`;
  if (request.pool && formatPrefix(parsePrefix(request.pool)) !== formatPrefix(prefix)) return `the pool asked for was ${request.pool}`;
  return null;
}

/** What is wrong with an address a registered IPAM returned, or null. */
function addressProblem(
  result: string | null | undefined,
  pool: PoolRef,
  asked: string | undefined,
  inUse: ((address: string) => boolean) | undefined,
): { why: string; inUse?: boolean } | null {
  if (result === null) return asked === undefined ? null : { why: 'no address, though one was asked for' };
  let parsed;
  try {
    parsed = parseCidr(result, 'address');
  } catch (err) {
    return { why: (err as Error).message };
  }
  const prefix = parsePrefix(pool.pool);
  const { family, value } = parseAddress(parsed.address);
  if (family !== prefix.family || !containsAddress(prefix, value)) return { why: `it is not in pool ${pool.pool}` };
  if (parsed.prefixLength !== prefix.bits) return { why: `its prefix length is not the pool's (${prefix.bits})` };
  if (asked !== undefined && parseAddress(asked.split('/')[0]).value !== value) return { why: `the address asked for was ${asked}` };
  if (inUse?.(parsed.address)) return { why: `${parsed.address} is already in use on the network`, inUse: true };
  return null;
}
