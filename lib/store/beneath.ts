// Reading the state directory without following symlinks below it: each folder is opened one
// component at a time with O_NOFOLLOW from the one above it (through /proc/self/fd, Node's openat),
// and only regular files are read (O_NONBLOCK, so that a FIFO cannot block, then fstat).
import { constants } from 'node:fs';
import { open, readdir, unlink, type FileHandle } from 'node:fs/promises';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

const inFolder = (folder: FileHandle, name: string) => `/proc/self/fd/${folder.fd}/${name}`;

/**
 * Opens the folder `parts` beneath `base` (the caller's trusted path) without following a symlink
 * below `base` (ELOOP; ENOTDIR for a file). Resolves null if a part is missing.
 */
export async function openFolderBeneath(base: string, parts: string[]): Promise<FileHandle | null> {
  let at: FileHandle;
  try {
    at = await open(base, O_RDONLY | O_DIRECTORY);
    for (const part of parts) {
      const next = await open(inFolder(at, part), O_RDONLY | O_DIRECTORY | O_NOFOLLOW).finally(() => at.close());
      at = next;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return at;
}

/** The names in a folder opened by openFolderBeneath. */
export function listFolder(folder: FileHandle): Promise<string[]> {
  return readdir(inFolder(folder, ''));
}

/** Reads a regular file of the folder; anything else (symlink, FIFO, folder, device) is refused with an Error saying what it is. */
export async function readRegularFile(folder: FileHandle, name: string): Promise<string> {
  const file = await open(inFolder(folder, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ELOOP' ? new Error('a symlink, not a regular file: not followed') : err;
  });
  try {
    if (!(await file.stat()).isFile()) throw new Error('not a regular file');
    return await file.readFile('utf8');
  } finally {
    await file.close();
  }
}

/** Removes a file of the folder (a symlink itself, never its target). */
export function removeFromFolder(folder: FileHandle, name: string): Promise<void> {
  return unlink(inFolder(folder, name));
}

/** The names in the folder `parts` beneath `base` (see openFolderBeneath); [] if it is missing or cannot be opened. */
export async function listBeneath(base: string, parts: string[]): Promise<string[]> {
  const folder = await openFolderBeneath(base, parts).catch(() => null);
  if (!folder) return [];
  try {
    return await listFolder(folder);
  } catch {
    return [];
  } finally {
    await folder.close();
  }
}
