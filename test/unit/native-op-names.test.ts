// The ops the addon reads (native/kernel/ops.h) are ops the TS side knows: no root, no addon.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { NativeOp } from '../../lib/kernel';
import { validateOp } from '../../lib/native/validate';

const opsHeader = readFileSync(path.resolve(__dirname, '..', '..', 'native', 'kernel', 'ops.h'), 'utf8');
const nativeNames = [...opsHeader.matchAll(/static constexpr std::string_view name = "(\w+)";/g)].map((m) => m[1]);

/** What validateOp says about a bare op of that name ('' when it passes). */
function complaint(op: string): string {
  try {
    validateOp({ op } as NativeOp);
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

it('finds the op names in ops.h', () => {
  expect(nativeNames).toContain('linkAdd');
  expect(new Set(nativeNames).size).toBe(nativeNames.length);
});

it.each(nativeNames)('%s has a check in lib/native/validate.ts', (op) => {
  expect(complaint(op)).not.toMatch(/unknown operation/);
});

it('refuses a name the addon does not know', () => {
  expect(complaint('toString')).toMatch(/unknown operation/);
});
