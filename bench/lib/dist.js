// Makes sure ../dist (the compiled library the benchmark requires) matches lib/: rebuilds it with
// `tsc -p tsconfig.build.json` when a lib/ file is newer than its output or the output is missing.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

function staleFiles() {
  const stale = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const out = path.join(root, 'dist', path.relative(path.join(root, 'lib'), file).replace(/\.ts$/, '.js'));
        if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(file).mtimeMs) stale.push(path.relative(root, file));
      }
    }
  };
  walk(path.join(root, 'lib'));
  return stale;
}

/** True if dist/ loads and has what the benchmark uses. */
function distUsable() {
  try {
    const dist = require(path.join(root, 'dist', 'kernel'));
    return ['setupContainer', 'teardownContainer', 'containerSetupOps', 'batch'].every((f) => typeof dist[f] === 'function');
  } catch {
    return false;
  }
}

/**
 * Rebuilds dist/ if it is stale. A failed build emits nothing (--noEmitOnError); the benchmark then
 * goes on with the dist/ it has if that is usable (lib/ may be half-edited), and fails otherwise.
 */
function ensureDist(log) {
  const stale = staleFiles();
  if (stale.length === 0) return;
  log(`dist/ is stale (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}): running tsc -p tsconfig.build.json`);
  const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
  const result = spawnSync(tsc, ['-p', 'tsconfig.build.json', '--noEmitOnError'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status === 0) return;
  if (!distUsable()) throw new Error('tsc -p tsconfig.build.json failed and dist/ is not usable');
  log('WARNING: the build failed (see above); measuring the existing dist/, which may not match lib/');
}

/** Warns when a native/ source is newer than the addon the loader will pick (build/Release). */
function warnIfAddonStale(log) {
  const addon = process.env.CNM_TS_ADDON || path.join(root, 'build', 'Release', 'cnm.node');
  if (!fs.existsSync(addon)) return; // the loader reports what it tried
  const built = fs.statSync(addon).mtimeMs;
  const newer = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (fs.statSync(file).mtimeMs > built) newer.push(path.relative(root, file));
    }
  };
  walk(path.join(root, 'native'));
  if (newer.length)
    log(`WARNING: ${newer.slice(0, 3).join(', ')} newer than ${path.relative(root, addon)}: measuring an addon older than its sources (npm run build:native)`);
}

/** The compiled library, as a user would load it: `cnm-ts`, or `cnm-ts/kernel` with 'kernel'. */
function library(subpath) {
  return require(subpath ? `../../dist/${subpath}` : '../../dist');
}

/** Loads the addon; throws the loader's account of what it tried when it does not load. */
function loadAddon() {
  return require('../../dist/native/loader').loadBinding();
}

module.exports = { ensureDist, warnIfAddonStale, library, loadAddon };
