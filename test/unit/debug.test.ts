// Debug output: the `debug` package prints the library's namespaces when DEBUG names them, and is
// not even loaded without DEBUG (Deno would then need --allow-env for every variable).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** Runs `code`, with the compiled library's `createDebug` in scope, in a node process with `env` (and no DEBUG of ours). */
function run(code: string, env: Record<string, string>) {
  const dist = path.resolve(__dirname, '../../dist/util/debug.js');
  const script = `const createDebug = require(${JSON.stringify(dist)}).default; ${code}`;
  const { DEBUG: _ours, ...rest } = process.env;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...rest, ...env } });
}

it('prints an enabled namespace through the debug package, and not a disabled one', () => {
  const out = run("createDebug('cnm:native')('made %d links', 3); createDebug('cnm:ipam')('hidden');", { DEBUG: 'cnm:native', DEBUG_COLORS: 'no' });
  expect(out.status).toBe(0);
  expect(out.stderr).toMatch(/cnm:native made 3 links/);
  expect(out.stderr).not.toMatch(/hidden/);
});

it('without DEBUG, prints nothing and never loads the debug package', () => {
  const loaded = "Object.keys(require.cache).some((f) => f.includes('/node_modules/debug/'))";
  const out = run(`createDebug('cnm:native')('quiet'); console.log(${loaded})`, {});
  expect(out.status).toBe(0);
  expect(out.stderr).toBe('');
  expect(out.stdout.trim()).toBe('false');
});
