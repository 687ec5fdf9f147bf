// The state store: one file per object under <folder>/store/<kind>s/<id>.json, written
// atomically (temporary file, fsync, rename, fsync of the folder; sandboxes without the fsyncs,
// see `flushed`) with mode 0600. The folder is the state directory, and for sandboxes the run
// folder (see `baseOf`). Writes are native operations, so that they can share a worker trip with
// the kernel work they record; so are the reads, which open each folder and file beneath the base
// with openat and O_NOFOLLOW (JS could only do that through /proc/self/fd, which Deno allows only
// under --allow-all).
import * as path from 'node:path';
import { CnmError } from '../errors';
import { runOne, type Kernel, type NativeOp } from '../native';
import type { WriteFilesOp } from './group-commit';
import { parseRecord, type EndpointRecord, type NetworkRecord, type RecordKind, type SandboxRecord, type StateRecord } from './records';

/** A record file that was skipped at load. */
export interface StateWarning {
  file: string;
  reason: string;
}

export interface LoadedState {
  networks: NetworkRecord[];
  endpoints: EndpointRecord[];
  sandboxes: SandboxRecord[];
  warnings: StateWarning[];
  /** Ids of record files that were skipped, by kind: their objects are left alone. */
  unreadable: Record<RecordKind, string[]>;
}

const KINDS: RecordKind[] = ['network', 'endpoint', 'sandbox'];

/**
 * Whether records of a kind are flushed to disk (fsync). A sandbox is its namespace, and a power
 * loss takes every namespace with it (they are mounts): the next start removes every sandbox
 * whatever its record says, so its record is written atomically but not flushed. A process
 * crash loses nothing either way: the page cache survives it.
 */
const flushed = (kind: RecordKind): boolean => kind !== 'sandbox';
const LIST = { network: 'networks', endpoint: 'endpoints', sandbox: 'sandboxes' } as const;
const FILE = /^([0-9a-f]{64})\.json$/;

export class StateStore {
  constructor(
    private readonly stateDir: string,
    /** The controller's run folder (StateLayout.runFolder). */
    private readonly runFolder: string,
  ) {}

  /**
   * Sandbox records live in the run folder (a tmpfs by default), the others in the state directory:
   * a reboot takes every namespace away, and with them every sandbox, so their records need not
   * outlive it, and on a tmpfs their writes (two per container) cost no disk.
   */
  private baseOf(kind: RecordKind): string {
    return kind === 'sandbox' ? this.runFolder : this.stateDir;
  }

  private folder(kind: RecordKind): string {
    return path.join(this.baseOf(kind), 'store', LIST[kind]);
  }

  /** The record file of an object. */
  file(kind: RecordKind, id: string): string {
    return path.join(this.folder(kind), `${id}.json`);
  }

  /** A record file's path beneath the state directory. */
  private relative(kind: RecordKind, id: string): string {
    return `store/${LIST[kind]}/${id}.json`;
  }

  /** The operation that writes a record: atomically, and durably unless it is a sandbox's (see below). */
  writeOp(record: StateRecord): WriteFilesOp {
    const file = { path: this.relative(record.kind, record.id), content: JSON.stringify(record), mode: 0o600 };
    return { op: 'writeFiles', base: this.baseOf(record.kind), atomic: true, durable: flushed(record.kind), files: [file] };
  }

  /** The operation that removes a record (durably unless it is a sandbox's). */
  removeOp(kind: RecordKind, id: string): NativeOp {
    return { op: 'removePaths', base: this.baseOf(kind), durable: flushed(kind), paths: [this.relative(kind, id)] };
  }

  /**
   * Reads every record through `kernel`. A file that is not a loadable record (truncated, not
   * JSON, another version, a leftover temporary file, not a regular file) is skipped and reported;
   * leftover temporary files are removed. Nothing below the state directory is followed through a
   * symlink: a store folder that is a symlink (or not a folder) is refused with PERMISSION.
   */
  async load(kernel: Kernel): Promise<LoadedState> {
    const state: LoadedState = { networks: [], endpoints: [], sandboxes: [], warnings: [], unreadable: { network: [], endpoint: [], sandbox: [] } };
    await Promise.all(KINDS.map((kind) => this.loadKind(kernel, state, kind)));
    return state;
  }

  private async loadKind(kernel: Kernel, state: LoadedState, kind: RecordKind): Promise<void> {
    const folder = `store/${LIST[kind]}`;
    const base = this.baseOf(kind);
    const names = await runOne(kernel, { op: 'listFolder', base, path: folder }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ELOOP' && err.code !== 'ENOTDIR') throw err;
      throw new CnmError(
        'PERMISSION',
        `state folder ${this.folder(kind)} is not a plain folder (${err.code}: a symlink or a file below ${base}); refusing to use it`,
        { cause: err },
      );
    });
    const ids: string[] = [];
    const leftovers: string[] = [];
    for (const name of names) {
      const id = FILE.exec(name)?.[1];
      if (id) {
        ids.push(id);
        continue;
      }
      const leftover = name.endsWith('.tmp');
      state.warnings.push({
        file: path.join(this.folder(kind), name),
        reason: leftover ? 'a temporary file left by an interrupted write' : 'not a record file',
      });
      if (leftover) leftovers.push(`${folder}/${name}`);
    }
    if (leftovers.length > 0) await runOne(kernel, { op: 'removePaths', base, paths: leftovers }).catch(() => undefined);
    if (ids.length === 0) return;
    const reads = await runOne(kernel, { op: 'readFiles', base, paths: ids.map((id) => this.relative(kind, id)) });
    reads.forEach((read, i) => {
      try {
        if ('error' in read) throw new Error(read.error);
        (state[LIST[kind]] as StateRecord[]).push(parseRecord(kind, ids[i], read.content));
      } catch (err) {
        state.warnings.push({ file: this.file(kind, ids[i]), reason: (err as Error).message });
        state.unreadable[kind].push(ids[i]);
      }
    });
  }
}
