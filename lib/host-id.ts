// The host's identity, from which the default IPv6 pool is derived (see ControllerOptions.hostId).
import { readFile } from 'node:fs/promises';
import createDebug from './util/debug';

const debug = createDebug('cnm:controller');

/** systemd's machine id: stable across restarts, made at install, read without network access. */
export const MACHINE_ID_FILE = '/etc/machine-id';

/** The machine id, or null when the file is missing, unreadable or empty (a minimal container image). */
export async function readMachineId(file = MACHINE_ID_FILE): Promise<string | null> {
  try {
    const id = (await readFile(file, 'utf8')).trim();
    return id === '' ? null : id;
  } catch (err) {
    debug('no machine id: %s', (err as Error).message);
    return null;
  }
}
