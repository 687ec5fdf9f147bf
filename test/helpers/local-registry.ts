// A read-only npm registry on loopback that serves a few tarballs, so that npm, Bun and Deno can
// install a packed cnm-ts by name, as users do, from inside the tests' private network namespace
// (which has no route to the real registry). It answers the two requests installers make: the
// package document (GET /<name>) and the tarball (GET /<name>/-/<file>).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface LocalRegistry {
  /** The registry's URL, with a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/** Packs each directory (`npm pack --ignore-scripts`) into `dest`; returns the tarballs' paths. */
export async function packDirectories(dirs: string[], dest: string): Promise<string[]> {
  const tarballs: string[] = [];
  for (const dir of dirs) {
    const { stdout } = await execFileAsync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest, dir], { encoding: 'utf8' });
    tarballs.push(path.join(dest, (JSON.parse(stdout) as { filename: string }[])[0].filename));
  }
  return tarballs;
}

/** Serves the tarballs; each one's package.json is read from the tarball itself. */
export async function startRegistry(tarballs: string[]): Promise<LocalRegistry> {
  const packages = new Map<string, { manifest: Record<string, unknown>; file: string; data: Buffer }>();
  for (const file of tarballs) {
    const { stdout } = await execFileAsync('tar', ['-xOzf', file, 'package/package.json'], { encoding: 'utf8' });
    const manifest = JSON.parse(stdout) as Record<string, unknown>;
    packages.set(manifest.name as string, { manifest, file: path.basename(file), data: readFileSync(file) });
  }
  const server = http.createServer((req, res) => {
    const parts = decodeURIComponent((req.url ?? '/').slice(1).split('?')[0]).split('/');
    // A scoped name ("@scope/name", asked for as @scope%2fname) is two segments.
    const scoped = parts[0].startsWith('@') ? 2 : 1;
    const [name, dash, file] = [parts.slice(0, scoped).join('/'), ...parts.slice(scoped)];
    const pkg = packages.get(name);
    if (!pkg || (dash !== undefined && (dash !== '-' || file !== pkg.file))) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    if (dash === '-') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': pkg.data.length }).end(pkg.data);
      return;
    }
    const version = pkg.manifest.version as string;
    const dist = {
      tarball: `${url}${name}/-/${pkg.file}`,
      shasum: createHash('sha1').update(pkg.data).digest('hex'),
      integrity: `sha512-${createHash('sha512').update(pkg.data).digest('base64')}`,
    };
    const doc = { name, 'dist-tags': { latest: version }, versions: { [version]: { ...pkg.manifest, dist } } };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
