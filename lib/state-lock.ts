import * as path from 'node:path';
import { CnmError } from './errors';
import { lockFile, unlockFile } from './native';

/**
 * Takes the state directory's lock (`<dir>/lock`, flock): one controller per state directory, in
 * this process or any other. The kernel drops it if the process dies. Throws STATE_LOCKED naming
 * the directory and the holder's pid. Resolves with the descriptor that holds it.
 */
export async function lockStateDir(dir: string): Promise<number> {
  const { fd, holder } = await lockFile(path.join(dir, 'lock'), String(process.pid));
  if (fd === null) {
    throw new CnmError('STATE_LOCKED', `state directory ${dir} is in use by another controller (pid ${holder.trim() || 'unknown'})`);
  }
  return fd;
}

/** Releases the state directory's lock. */
export async function unlockStateDir(fd: number): Promise<void> {
  await unlockFile(fd);
}
