// Debug output for `DEBUG=cnm:*`, by the `debug` package, loaded only when DEBUG is set: once
// loaded it enumerates every environment variable (its DEBUG_* options), which Deno allows only
// with --allow-env, so a library run without DEBUG reads DEBUG alone and never loads it.
import { envVar } from './env';

/** Prints one line to stderr when its namespace is enabled; `format` is the `debug` package's (%s, %d, %o, %j). */
export type DebugLog = (format: string, ...args: unknown[]) => void;

/** The logger of one namespace ('cnm:native'); DEBUG is read once, when it is made. */
export default function createDebug(namespace: string): DebugLog {
  if (!envVar('DEBUG')) return () => undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand, see above
  const debug = require('debug') as typeof import('debug');
  return debug(namespace);
}
