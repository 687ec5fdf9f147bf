// containerSetupOps / setupContainer refuse a spec the kernel would refuse halfway, before any
// kernel call (the binding is a fake that records what reaches it).
import type { NativeOp } from '../../lib/native/types';
import { fakeBinding } from '../helpers/fake-binding';

const executed: NativeOp[][] = [];
const binding = fakeBinding((ops) => {
  executed.push(ops);
  return Promise.resolve([]);
});
jest.mock('../../lib/native/loader', () => ({ loadBinding: () => binding }));

import { CnmError } from '../../lib/errors';
import { containerSetupOps, setupContainer, type ContainerSetup } from '../../lib/native/container';

const SPEC: ContainerSetup = { netnsDir: '/run/netns', name: 'ctr1', bridge: 'br-1111', hostIfname: 'veth1111111', address: 'fd00:1::2/64', ipv6: false };

afterEach(() => {
  executed.length = 0;
});

test('an IPv6 address with ipv6: false is INVALID_ARGUMENT, naming the address', () => {
  let err: unknown;
  try {
    containerSetupOps(SPEC);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CnmError);
  expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('fd00:1::2/64') });
});

test('setupContainer refuses it before any kernel call', async () => {
  await expect(setupContainer(SPEC)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  expect(executed).toEqual([]);
});

test('an IPv6 address with ipv6 true or unset, and an IPv4 one with ipv6: false, are fine', () => {
  for (const spec of [
    { ...SPEC, ipv6: true },
    { ...SPEC, ipv6: undefined },
    { ...SPEC, address: '172.18.0.2/16' },
  ]) {
    expect(containerSetupOps(spec).map((op) => op.op)).toEqual(['netnsCreate', 'linkAdd', 'linkSet', 'linkSet', 'linkSet', 'addressAdd']);
  }
});
