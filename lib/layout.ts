// Every name and path a controller derives from its folders and its mark: a sandbox's namespace,
// its folder under the run folder, its namespace's folder under /etc/netns. Create, delete,
// restore and the orphan sweep all ask here, so the scheme lives in one place.
import type { NativeOp } from './native';
import type { FilesFolder } from './sandbox-files';
import type { ControllerFolders } from './state-dir';

/** The run folder's folder of sandbox folders. */
const SANDBOXES = 'sandboxes';

/** A network namespace shared by one sandbox and the container-mode sandboxes that share it. */
export interface NamespaceHandle {
  key: string;
  /** The namespace file's name in the namespace directory; null for the host's namespace. */
  name: string | null;
  /** Sandboxes using it; it is dropped when the last one goes (if cnm-ts made it). */
  users: number;
  owned: boolean;
}

/** The host's own namespace (host mode): never made, never dropped. */
export function hostNamespace(): NamespaceHandle {
  return { key: `/proc/${process.pid}/ns/net`, name: null, users: 0, owned: false };
}

/** The names and paths of one controller: its folders and the mark of its state directory. */
export class StateLayout {
  private readonly ownNames: RegExp;

  constructor(
    readonly folders: ControllerFolders,
    /** Unique to the state directory: in the names of the namespaces (and the bridges' aliases) it makes. */
    readonly mark: string,
    /**
     * The controller's folder for what a reboot takes away (`<runDir>/<mark>`, on a tmpfs by
     * default): sandbox records and folders cost no disk writes there.
     */
    readonly runFolder: string,
  ) {
    this.ownNames = new RegExp(`^cnm-${mark}-([0-9a-f]{12})$`);
  }

  /** The name of the namespace this controller makes for a sandbox (`cnm-<mark>-<12 hex of its id>`). */
  namespaceName(sandboxId: string): string {
    return `cnm-${this.mark}-${sandboxId.slice(0, 12)}`;
  }

  /** The 12 hex of a namespace name this controller could have made, or null for any other name. */
  sandboxIdPrefix(namespaceName: string): string | null {
    return this.ownNames.exec(namespaceName)?.[1] ?? null;
  }

  /** The path of a namespace file in the namespace directory. */
  namespaceKey(namespaceName: string): string {
    return `${this.folders.netnsDir}/${namespaceName}`;
  }

  /** The namespace a new sandbox of this controller gets (not made yet). */
  newNamespace(sandboxId: string): NamespaceHandle {
    const name = this.namespaceName(sandboxId);
    return { key: this.namespaceKey(name), name, users: 0, owned: true };
  }

  /** A sandbox's own folder for hosts and resolv.conf, under the run folder. */
  sandboxFolder(sandboxId: string): FilesFolder {
    return { base: this.runFolder, folder: `${SANDBOXES}/${sandboxId}` };
  }

  /** Where the sandboxes' own folders are: a folder path beneath the run folder. */
  sandboxesParent(): { base: string; path: string } {
    return { base: this.runFolder, path: SANDBOXES };
  }

  /**
   * The operation that removes the run folder once nothing is left in it (`stop({ removeAll })`):
   * its empty store and sandbox folders, then itself; a folder with anything else in it stays.
   */
  runFolderRemoval(): NativeOp {
    const own = `${this.mark}/`;
    return { op: 'removePaths', base: this.folders.runDir, paths: [`${own}store/sandboxes/`, `${own}store/`, `${own}${SANDBOXES}/`, own] };
  }

  /** A namespace's folder under /etc/netns (for `ip netns exec`). */
  etcNetnsFolder(namespaceName: string): FilesFolder {
    return { base: this.folders.etcNetnsDir, folder: namespaceName };
  }
}
