// The state store: one file per object under <folder>/store/<kind>s/<id>.json, written
// atomically (temporary file, fsync, rename, fsync of the folder; sandboxes without the fsyncs,
// see `flushed`) with mode 0600. The folder is the state directory, and for sandboxes the run
// folder (see `baseOf`). Writes are native operations, so that they can share a worker
// trip with the kernel work they record.
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { CnmError } from '../errors';
import type { NativeOp } from '../native';
import type { WriteFilesOp } from './group-commit';
import { listFolder, openFolderBeneath, readRegularFile, removeFromFolder } from './beneath';
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
   * Reads every record. A file that is not a loadable record (truncated, not JSON, another version,
   * a leftover temporary file, not a regular file) is skipped and reported; leftover temporary
   * files are removed. Nothing below the state directory is followed through a symlink: a store
   * folder that is a symlink (or not a folder) is refused with PERMISSION.
   */
  async load(): Promise<LoadedState> {
    const state: LoadedState = { networks: [], endpoints: [], sandboxes: [], warnings: [], unreadable: { network: [], endpoint: [], sandbox: [] } };
    await Promise.all(
      KINDS.map(async (kind) => {
        const where = this.folder(kind);
        const base = this.baseOf(kind);
        const folder = await openFolderBeneath(base, ['store', LIST[kind]]).catch((err: NodeJS.ErrnoException) => {
          throw new CnmError('PERMISSION', `state folder ${where} is not a plain folder (${err.code}: a symlink or a file below ${base}); refusing to use it`, {
            cause: err,
          });
        });
        if (!folder) return;
        try {
          await Promise.all((await listFolder(folder)).map((name) => this.loadFile(state, kind, folder, name)));
        } finally {
          await folder.close();
        }
      }),
    );
    return state;
  }

  private async loadFile(state: LoadedState, kind: RecordKind, folder: FileHandle, name: string): Promise<void> {
    const file = path.join(this.folder(kind), name);
    const id = FILE.exec(name)?.[1];
    if (!id) {
      state.warnings.push({ file, reason: name.endsWith('.tmp') ? 'a temporary file left by an interrupted write' : 'not a record file' });
      if (name.endsWith('.tmp')) await removeFromFolder(folder, name).catch(() => undefined);
      return;
    }
    try {
      const record = parseRecord(kind, id, await readRegularFile(folder, name));
      (state[LIST[kind]] as StateRecord[]).push(record);
    } catch (err) {
      state.warnings.push({ file, reason: (err as Error).message });
      state.unreadable[kind].push(id);
    }
  }
}
