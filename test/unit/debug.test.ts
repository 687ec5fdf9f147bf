// The library's own debug output: the `debug` package's DEBUG list syntax, and DEBUG read alone.
import { debugEnabled } from '../../lib/util/debug';

it.each([
  ['cnm:*', 'cnm:native', true],
  ['cnm:native', 'cnm:native', true],
  ['cnm:native', 'cnm:restore', false],
  ['cnm:*,-cnm:undo', 'cnm:undo', false],
  ['cnm:*,-cnm:undo', 'cnm:ipam', true],
  ['other cnm:restore', 'cnm:restore', true],
  ['*', 'cnm:ipam', true],
  ['', 'cnm:ipam', false],
  ['cnm.native', 'cnm:native', false],
])('DEBUG=%j enables %s: %s', (spec, namespace, enabled) => {
  expect(debugEnabled(spec, namespace)).toBe(enabled);
});
