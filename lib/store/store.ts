// The state store: one file per object under <stateDir>/store/<kind>s/<id>.json, written
// atomically (temporary file, fsync, rename, fsync of the folder; sandboxes without the fsyncs,
// see `flushed`) with mode 0600. Writes are native operations, so that they can share a worker
// trip with the kernel work they record.
import { readdir, readFile, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { NativeOp } from '../native';
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
  constructor(private readonly stateDir: string) {}

  private folder(kind: RecordKind): string {
    return path.join(this.stateDir, 'store', LIST[kind]);
  }

  /** The record file of an object. */
  file(kind: RecordKind, id: string): string {
    return path.join(this.folder(kind), `${id}.json`);
  }

  /** The operation that writes a record: atomically, and durably unless it is a sandbox's (see below). */
  writeOp(record: StateRecord): NativeOp {
    const file = { path: this.file(record.kind, record.id), content: JSON.stringify(record), mode: 0o600 };
    return { op: 'writeFiles', atomic: true, durable: flushed(record.kind), files: [file] };
  }

  /** The operation that removes a record (durably unless it is a sandbox's). */
  removeOp(kind: RecordKind, id: string): NativeOp {
    return { op: 'removePaths', durable: flushed(kind), paths: [this.file(kind, id)] };
  }

  /**
   * Reads every record. A file that is not a loadable record (truncated, not JSON, another version,
   * a leftover temporary file) is skipped and reported; leftover temporary files are removed.
   */
  async load(): Promise<LoadedState> {
    const state: LoadedState = { networks: [], endpoints: [], sandboxes: [], warnings: [], unreadable: { network: [], endpoint: [], sandbox: [] } };
    await Promise.all(KINDS.map(async (kind) => {
      const folder = this.folder(kind);
      const names = await readdir(folder).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      await Promise.all(names.map(async (name) => {
        const file = path.join(folder, name);
        const id = FILE.exec(name)?.[1];
        if (!id) {
          state.warnings.push({ file, reason: name.endsWith('.tmp') ? 'a temporary file left by an interrupted write' : 'not a record file' });
          if (name.endsWith('.tmp')) await unlink(file).catch(() => undefined);
          return;
        }
        try {
          const record = parseRecord(kind, id, await readFile(file, 'utf8'));
          (state[LIST[kind]] as StateRecord[]).push(record);
        } catch (err) {
          state.warnings.push({ file, reason: (err as Error).message });
          state.unreadable[kind].push(id);
        }
      }));
    }));
    return state;
  }
}
