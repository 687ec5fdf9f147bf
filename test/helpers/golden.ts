// Golden files, as moby's nftabler keeps testdata/*.golden: a pure plan's output is written once to
// test/unit/golden/<name>.json, read by a person, and from then on compared exactly. Rewrite them
// with `UPDATE_GOLDEN=1 node test/run.js test/unit/golden.test.ts` and review the diff; a missing
// file is a failure, so a suite without its golden files cannot pass.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const GOLDEN_DIR = path.join(__dirname, '..', 'unit', 'golden');
const updating = process.env.UPDATE_GOLDEN === '1';
/** Lines longer than this are broken up (the repo's prettier width). */
const WIDTH = 160;
/** Keys that say what an object is and where it goes: written first in this order, the rest in alphabetical order. */
const LEADING_KEYS = ['cmd', 'expr', 'op', 'family', 'table', 'chain', 'set', 'key', 'data'];
const IFNAMSIZ = 16;

/** Compares `value` with the golden file `name` (or writes it, with UPDATE_GOLDEN=1 outside CI). */
export function expectGolden(name: string, value: unknown): void {
  const file = path.join(GOLDEN_DIR, `${name}.json`);
  const text = `${render(plain(value), '')}\n`;
  if (updating) {
    // CI must compare: a run that rewrites its own expectations proves nothing.
    if (process.env.CI) throw new Error('UPDATE_GOLDEN=1 is refused under CI');
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  if (!existsSync(file)) throw new Error(`${file} is missing: write it with UPDATE_GOLDEN=1 and review it`);
  expect(text).toBe(readFileSync(file, 'utf8'));
}

/** The golden files on disk, by name (without .json). */
export function goldenNames(): string[] {
  if (!existsSync(GOLDEN_DIR)) return [];
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length));
}

/** Plain JSON values: bytes as an interface name or hex, Maps as objects, undefined dropped, keys ordered. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return bytes(Buffer.from(value));
  if (value instanceof Map) return plain(Object.fromEntries(value));
  if (value instanceof Set) return plain([...value]);
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((k) => [k, plain((value as Record<string, unknown>)[k])]));
}

function rank(key: string): number {
  const i = LEADING_KEYS.indexOf(key);
  return i === -1 ? LEADING_KEYS.length : i;
}

/** "ifname:br0" for a NUL-padded interface name (as nf_tables compares it), else "0x" and hex. */
function bytes(b: Buffer): string {
  const end = b.indexOf(0);
  const name = end === -1 ? '' : b.subarray(0, end).toString('latin1');
  const padded = b.length === IFNAMSIZ && /^[\x21-\x7e]+$/.test(name) && b.subarray(end).every((c) => c === 0);
  return padded ? `ifname:${name}` : `0x${b.toString('hex')}`;
}

/** JSON on one line: `{"a": 1, "b": [2, 3]}`. */
function flat(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flat).join(', ')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, item]) => `${JSON.stringify(k)}: ${flat(item)}`)
      .join(', ')}}`;
  return JSON.stringify(v);
}

/** JSON of a plain() value with a node on one line when it fits, so that one nf_tables expression or element is one line. */
function render(v: unknown, indent: string, key = ''): string {
  const line = `${key}${flat(v)}`;
  if (v === null || typeof v !== 'object' || indent.length + line.length <= WIDTH) return line;
  const inner = `${indent}  `;
  const items = Array.isArray(v) ? v.map((item) => render(item, inner)) : Object.entries(v).map(([k, item]) => render(item, inner, `${JSON.stringify(k)}: `));
  const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
  return `${key}${open}\n${items.map((item) => `${inner}${item}`).join(',\n')}\n${indent}${close}`;
}
