// The state directory is a trust boundary: what is in it decides what root deletes and adopts.
// Like sshd's StrictModes, a directory that someone else could write to is refused.
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { CnmError, invalidArgument } from './errors';
import { runOne, type Kernel } from './native';

/** The folders a controller works in (ControllerOptions, with their defaults). */
export interface ControllerFolders {
  stateDir: string;
  /** The parent of the controller's folder for what a reboot takes away (see runFolder). */
  runDir: string;
  netnsDir: string;
  etcNetnsDir: string;
}

/**
 * Checks the folders before anything is made, then makes the state directory (0700) if it is
 * missing, through `kernel` (a writeFiles with no file makes its base: in Deno that needs no
 * --allow-write). INVALID_ARGUMENT: a relative folder, or a state directory that is not a folder.
 * PERMISSION: a state directory owned by another user or writable by its group or others.
 */
export async function prepareStateDir(folders: ControllerFolders, kernel: Kernel): Promise<void> {
  for (const [what, folder] of Object.entries(folders)) {
    if (typeof folder !== 'string' || !path.isAbsolute(folder) || folder.includes('\0')) {
      throw invalidArgument(`${what} must be an absolute path, got ${JSON.stringify(folder)}`);
    }
  }
  await prepareOwnFolder(kernel, folders.stateDir, 'state directory');
}

/**
 * The controller's folder for what a reboot takes away (sandbox records, hosts and resolv.conf):
 * `<runDir>/<mark>`, so that controllers on different state directories never share one. Both
 * are made (0700) when missing and checked as the state directory is.
 */
export async function prepareRunFolder(kernel: Kernel, runDir: string, mark: string): Promise<string> {
  await prepareOwnFolder(kernel, runDir, 'run directory');
  const folder = path.join(runDir, mark);
  await prepareOwnFolder(kernel, folder, 'run directory');
  return folder;
}

/** Makes a folder (0700) if it is missing, else refuses one that is not ours alone (see prepareStateDir). */
async function prepareOwnFolder(kernel: Kernel, folder: string, what: string): Promise<void> {
  const found = await stat(folder).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new CnmError('PERMISSION', `${what} ${folder} cannot be checked: ${err.message}`, { cause: err });
  });
  if (!found) {
    await runOne(kernel, { op: 'writeFiles', base: folder, atomic: true, files: [] });
    return;
  }
  if (!found.isDirectory()) throw invalidArgument(`${what} ${folder} is not a folder`);
  const uid = process.geteuid?.() ?? 0;
  if (found.uid !== uid) {
    throw new CnmError('PERMISSION', `${what} ${folder} is owned by uid ${found.uid}, not by this process (uid ${uid}): refused`);
  }
  if ((found.mode & 0o022) !== 0) {
    const mode = (found.mode & 0o7777).toString(8).padStart(4, '0');
    throw new CnmError('PERMISSION', `${what} ${folder} has mode ${mode}: its group or others can write it (chmod go-w): refused`);
  }
}
