// The state directory is a trust boundary: what is in it decides what root deletes and adopts.
// Like sshd's StrictModes, a directory that someone else could write to is refused.
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { CnmError, invalidArgument } from './errors';
import { runOne, type Kernel } from './native';

/** The folders a controller works in (ControllerOptions, with their defaults). */
export interface ControllerFolders {
  stateDir: string;
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
  const { stateDir } = folders;
  const found = await stat(stateDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new CnmError('PERMISSION', `state directory ${stateDir} cannot be checked: ${err.message}`, { cause: err });
  });
  if (!found) {
    await runOne(kernel, { op: 'writeFiles', base: stateDir, atomic: true, files: [] });
    return;
  }
  if (!found.isDirectory()) throw invalidArgument(`stateDir ${stateDir} is not a folder`);
  const uid = process.geteuid?.() ?? 0;
  if (found.uid !== uid) {
    throw new CnmError('PERMISSION', `state directory ${stateDir} is owned by uid ${found.uid}, not by this process (uid ${uid}): refused`);
  }
  if ((found.mode & 0o022) !== 0) {
    const mode = (found.mode & 0o7777).toString(8).padStart(4, '0');
    throw new CnmError('PERMISSION', `state directory ${stateDir} has mode ${mode}: its group or others can write it (chmod go-w): refused`);
  }
}
