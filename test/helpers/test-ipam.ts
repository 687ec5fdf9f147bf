// An IPAM of the tests' own, to register with a controller: first-free addresses in explicit
// pools, every call logged, its state optionally kept in a JSON file of its own (its "records"),
// and faults on demand (throw, answer wrong, never answer).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Ipam, IpamCapabilities, PoolRequest, PoolResult } from '../../lib';
import { CnmError } from '../../lib';

type Fault = 'throw' | 'hang' | 'outside' | 'gateway' | 'late' | 'same';

interface State {
  pools: Record<string, { cidr: string; taken: string[] }>;
}

const toInt = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

export class TestIpam implements Ipam {
  readonly calls: string[] = [];
  private state: State = { pools: {} };
  /** The fault of the next calls of `method`, and how many calls are left to it. */
  private faults = new Map<string, { fault: Fault; left: number }>();
  /** Answers of calls that hang, to give them later (see answerLate). */
  private hanging: (() => void)[] = [];

  /** `file`: where the IPAM keeps its records (read back by a new instance); `replay`: its capability. */
  constructor(
    private readonly file?: string,
    private readonly replay = false,
  ) {
    if (file && existsSync(file)) this.state = JSON.parse(readFileSync(file, 'utf8')) as State;
  }

  /** Makes the next `times` calls of `method` misbehave. */
  fail(method: keyof Ipam, fault: Fault, times = 1): void {
    this.faults.set(method, { fault, left: times });
  }

  /** Lets the calls that hung answer now. */
  answerLate(): void {
    for (const answer of this.hanging.splice(0)) answer();
  }

  /** The addresses of a pool it holds. */
  taken(poolId: string): string[] {
    return [...(this.state.pools[poolId]?.taken ?? [])];
  }

  get poolIds(): string[] {
    return Object.keys(this.state.pools);
  }

  capabilities(): IpamCapabilities {
    return { requiresRequestReplay: this.replay };
  }

  getDefaultAddressSpaces() {
    return { local: 'TestLocal', global: 'TestGlobal' };
  }

  requestPool(request: PoolRequest): Promise<PoolResult> {
    return this.run('requestPool', `requestPool ${request.pool}`, () => {
      if (!request.pool) throw new CnmError('INVALID_ARGUMENT', 'give the pool');
      const poolId = `test:${request.pool}`;
      if (this.state.pools[poolId]) throw new CnmError('CONFLICT', `pool ${request.pool} is taken`);
      this.state.pools[poolId] = { cidr: request.pool, taken: [] };
      return { poolId, pool: request.pool, meta: {} };
    });
  }

  releasePool(poolId: string): Promise<void> {
    return this.run('releasePool', `releasePool ${poolId}`, () => {
      delete this.state.pools[poolId];
    });
  }

  requestAddress(poolId: string, address?: string, options?: Record<string, string>): Promise<string | null> {
    return this.run('requestAddress', `requestAddress ${poolId} ${address ?? 'any'}`, (fault) => {
      const pool = this.state.pools[poolId];
      if (!pool) throw new CnmError('NOT_FOUND', `no pool ${poolId}`);
      const [base, bits] = pool.cidr.split('/');
      const suffix = `/${bits}`;
      if (fault === 'outside') return `203.0.113.9${suffix}`;
      if (fault === 'gateway') return `${toIp(toInt(base) + 1)}${suffix}`;
      if (fault === 'same') return `${toIp(toInt(base) + 9)}${suffix}`;
      const wanted = address?.split('/')[0];
      if (wanted !== undefined) {
        if (pool.taken.includes(wanted)) throw new CnmError('CONFLICT', `${wanted} is taken`);
        pool.taken.push(wanted);
        return `${wanted}${suffix}`;
      }
      const size = 2 ** (32 - Number(bits));
      for (let i = 1; i < size - 1; i++) {
        const candidate = toIp(toInt(base) + i);
        if (!pool.taken.includes(candidate)) {
          pool.taken.push(candidate);
          return `${candidate}${suffix}`;
        }
      }
      throw new CnmError('EXHAUSTED', `pool ${pool.cidr} is full (${options ? Object.keys(options).length : 0} options)`);
    });
  }

  releaseAddress(poolId: string, address: string): Promise<void> {
    return this.run('releaseAddress', `releaseAddress ${poolId} ${address}`, () => {
      const pool = this.state.pools[poolId];
      if (!pool) throw new CnmError('NOT_FOUND', `no pool ${poolId}`);
      pool.taken = pool.taken.filter((a) => a !== address.split('/')[0]);
    });
  }

  /** Logs the call, applies a fault set for it, and saves the state after a change. */
  private run<T>(method: string, call: string, work: (fault: Fault | undefined) => T): Promise<T> {
    this.calls.push(call);
    const planned = this.faults.get(method);
    const fault = planned?.fault;
    if (planned && --planned.left === 0) this.faults.delete(method);
    if (fault === 'throw') return Promise.reject(new Error('the backend is down'));
    const answer = () => {
      const result = work(fault);
      if (this.file) writeFileSync(this.file, JSON.stringify(this.state));
      return result;
    };
    if (fault === 'hang') return new Promise<T>(() => undefined);
    if (fault === 'late') return new Promise<T>((resolve) => this.hanging.push(() => resolve(answer())));
    return Promise.resolve().then(answer);
  }
}
