import * as path from 'node:path';
import createDebug from 'debug';
import { CnmError } from '../errors';
import { addErrnoNames, NetlinkError } from './netlink-error';
import type { NativeBinding } from './types';

const debug = createDebug('cnm:native');

/** Where the addon may be, in order: an explicit override, then both build outputs. */
function candidatePaths(): string[] {
  const root = path.resolve(__dirname, '..', '..');
  const paths = [path.join(root, 'build', 'Release', 'cnm.node'), path.join(root, 'build', 'Debug', 'cnm.node')];
  const override = process.env.CNM_TS_ADDON;
  return override ? [override, ...paths] : paths;
}

let loaded: NativeBinding | undefined;

/**
 * Loads the addon once. Throws a CnmError (NATIVE_UNAVAILABLE) that lists every path it tried and
 * why each failed.
 */
export function loadBinding(): NativeBinding {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    throw new CnmError('NATIVE_UNAVAILABLE', `cnm-ts needs Linux (this is ${process.platform})`);
  }
  const failures: string[] = [];
  for (const candidate of candidatePaths()) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const binding = require(candidate) as NativeBinding;
      binding.setErrorFactory((info) => new NetlinkError(info));
      addErrnoNames(binding.errnoNames());
      debug('loaded addon from %s', candidate);
      loaded = binding;
      return binding;
    } catch (err) {
      failures.push(`  ${candidate}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new CnmError(
    'NATIVE_UNAVAILABLE',
    `cannot load the cnm-ts addon; tried:\n${failures.join('\n')}\n` + 'Build it with `npm run build:native` (needs python3, make and g++).',
  );
}
