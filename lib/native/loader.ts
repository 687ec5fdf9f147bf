import * as path from 'node:path';
import createDebug from '../util/debug';
import { CnmError } from '../errors';
import { envVar } from '../util/env';
import { addErrnoNames, NetlinkError } from './netlink-error';
import type { NativeBinding } from './types';

const debug = createDebug('cnm:native');

/** The prebuilt binaries this package can carry (scripts/prebuild.js builds them). */
export const PREBUILD_TARGETS = ['linux-x64-glibc', 'linux-arm64-glibc', 'linux-x64-musl'] as const;

/**
 * Where the addon may be, in order: an explicit override (CNM_TS_ADDON), a source build
 * (build/Release, build/Debug: someone built it here on purpose, so it wins), then the prebuilt
 * binaries for this architecture: glibc's, then musl's. The C library is not detected (that needs
 * permissions in Deno); the binary for the other one fails to load with a clear dlopen error.
 */
export function candidatePaths(): string[] {
  const root = path.resolve(__dirname, '..', '..');
  const builds = [path.join(root, 'build', 'Release', 'cnm.node'), path.join(root, 'build', 'Debug', 'cnm.node')];
  const prebuilds = ['glibc', 'musl']
    .map((libc) => `${process.platform}-${process.arch}-${libc}`)
    .filter((target) => (PREBUILD_TARGETS as readonly string[]).includes(target))
    .map((target) => path.join(root, 'prebuilds', target, 'cnm.node'));
  const override = envVar('CNM_TS_ADDON');
  return [...(override ? [override] : []), ...builds, ...prebuilds];
}

/** The command that builds the addon from source where this copy of cnm-ts sits. */
function buildAdvice(root: string): string {
  const needs = "(needs python3, make, g++ and Node's headers; set npm_config_nodedir=/usr where they cannot be downloaded)";
  if (root.split(path.sep).includes('node_modules')) {
    return `No prebuilt binary fits ${process.platform}-${process.arch}; build one from source in your application with\n  npm install --no-save node-addon-api@8 && npm explore cnm-ts -- npm run build:native\n${needs}.`;
  }
  return `Build it with \`npm run build:native\` ${needs}.`;
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
  const root = path.resolve(__dirname, '..', '..');
  // Deno refuses to load any addon without FFI permission: building one would not help.
  const advice = failures.some((f) => f.includes('--allow-ffi'))
    ? 'Deno loads Node-API addons only with --allow-ffi: run with --allow-ffi=node_modules (see the README, Installing).'
    : buildAdvice(root);
  throw new CnmError('NATIVE_UNAVAILABLE', `cannot load the cnm-ts addon; tried:\n${failures.join('\n')}\n${advice}`);
}
