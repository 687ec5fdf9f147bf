// Debug output for `DEBUG=cnm:*` (the names the `debug` package uses: a comma- or space-separated
// list, `*` matching anything, a leading `-` excluding). Our own rather than the `debug` package,
// which enumerates every environment variable when loaded: in Deno that needs --allow-env for all
// of them, where this reads DEBUG alone, and runs without it (no output) when it is not allowed.
import { format } from 'node:util';
import { envVar } from './env';

/** Prints one line to stderr when its namespace is enabled; `format` is util.format's (%s, %d, %o, %j). */
export type DebugLog = (format: string, ...args: unknown[]) => void;

const pattern = (name: string) => new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** Whether `namespace` is enabled by the DEBUG list `spec`. */
export function debugEnabled(spec: string, namespace: string): boolean {
  const names = spec.split(/[\s,]+/).filter(Boolean);
  const excluded = names.filter((n) => n.startsWith('-')).map((n) => pattern(n.slice(1)));
  const included = names.filter((n) => !n.startsWith('-')).map(pattern);
  return included.some((re) => re.test(namespace)) && !excluded.some((re) => re.test(namespace));
}

/** The logger of one namespace ('cnm:native'); DEBUG is read once, when it is made. */
export default function createDebug(namespace: string): DebugLog {
  if (!debugEnabled(envVar('DEBUG') ?? '', namespace)) return () => undefined;
  return (text, ...args) => process.stderr.write(`${new Date().toISOString()} ${namespace} ${format(text, ...args)}\n`);
}
