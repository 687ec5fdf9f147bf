import * as path from 'node:path';
import { CnmError } from './errors';
import { runOne, type Kernel } from './native';

/**
 * Takes the state directory's lock (`<dir>/lock`, flock): one controller per state directory, in
 * this process or any other. The kernel drops it if the process dies. Throws STATE_LOCKED naming
 * the directory and the holder's pid. Resolves with the descriptor that holds it.
 */
export async function lockStateDir(kernel: Kernel, dir: string): Promise<number> {
  const { fd, holder } = await runOne(kernel, { op: 'lockFile', path: path.join(dir, 'lock'), owner: String(process.pid) });
  if (fd === null) {
    throw new CnmError('STATE_LOCKED', `state directory ${dir} is in use by another controller (pid ${holder.trim() || 'unknown'})`);
  }
  return fd;
}

/** Releases the state directory's lock. */
export async function unlockStateDir(kernel: Kernel, fd: number): Promise<void> {
  await runOne(kernel, { op: 'unlockFile', fd });
}
