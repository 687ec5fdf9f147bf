// The addon called directly, past lib/native's validation: numbers that are not finite integers
// are refused by the binding itself (converting NaN to an integer is undefined behaviour), so is a
// DNS redirect into the host's namespace, and a failing batch settles even when the JS error
// factory throws.
import { loadBinding } from '../../../lib/native';
import { NetlinkError } from '../../../lib/native/netlink-error';
import type { NativeOp } from '../../../lib/native/types';
import { describeKernel, uniqueName } from '../../helpers/kernel';

/** The binding's ops as plain objects, so that a test can put any value in any field. */
const execute = (ops: unknown[]) => loadBinding().execute(ops as NativeOp[]);

/** The name and message of what `fn` throws (the addon's errors come from Node's realm, not jest's). */
function thrown(fn: () => unknown): { name: string; message: string } | undefined {
  try {
    fn();
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  return undefined;
}

describeKernel('the raw binding', () => {
  describe('refuses numbers that are not integers in range', () => {
    const bad = [NaN, Infinity, -Infinity, 1.5, -1, 2 ** 32, -0.5];

    it.each(bad)('a u32 field set to %p', (value) => {
      expect(thrown(() => execute([{ op: 'routeList', table: value }]))).toEqual({
        name: 'TypeError',
        message: 'ops[0].table must be an integer from 0 to 4294967295',
      });
      expect(() => execute([{ op: 'linkAdd', link: { kind: 'bridge', name: uniqueName('br'), mtu: value } }])).toThrow(
        /ops\[0\]\.link\.mtu must be an integer from 0 to 4294967295/,
      );
    });

    it.each([NaN, Infinity, -Infinity, 0.5])('a bounded integer field set to %p', (value) => {
      const filter = { family: 4, protocol: 'tcp', port: value };
      expect(() => execute([{ op: 'conntrackDelete', filters: [filter] }])).toThrow(/ops\[0\]\.filters\[0\]\.port must be an integer from 1 to 65535/);
    });

    it('and a link wait with a timeout that is not a number from 0 to 86400000', () => {
      for (const timeout of [NaN, Infinity, -1]) {
        expect(() => loadBinding().waitLinksGone(['lo'], timeout)).toThrow(/timeoutMs must be 0 to 86400000/);
      }
    });

    it('still takes the largest u32', async () => {
      await expect(execute([{ op: 'routeList', table: 4294967295 }])).resolves.toEqual([[]]);
    });
  });

  it('refuses a DNS redirect into the host namespace, which lib/native also refuses before it', async () => {
    await expect(execute([{ op: 'dnsSockets', redirectTable: uniqueName('dns') }])).rejects.toMatchObject({ code: 'EINVAL', syscall: 'dnsSockets' });
  });

  describe('settles a failing batch when the error factory throws', () => {
    const restore = () => loadBinding().setErrorFactory((info) => new NetlinkError(info));
    afterEach(restore);

    it('rejecting with an Error that names the op and carries what the factory threw as its cause', async () => {
      const broken = new Error('factory broke');
      loadBinding().setErrorFactory(() => {
        throw broken;
      });
      const missing = uniqueName('none');
      const err = (await execute([{ op: 'linkList' }, { op: 'linkGet', name: missing }]).catch((e: unknown) => e)) as Error & { cause?: unknown };
      expect(err.name).toBe('Error');
      expect(err).not.toBeInstanceOf(NetlinkError);
      expect(err.message).toBe(`RTM_GETLINK ${missing}: errno 19 (op 1); the error factory threw (see cause)`);
      expect(err.cause).toBe(broken);
    });

    it('when what it throws is not an Error', async () => {
      loadBinding().setErrorFactory(() => {
        throw 'not an error';
      });
      const err = (await execute([{ op: 'linkGet', name: uniqueName('none') }]).catch((e: unknown) => e)) as Error & { cause?: unknown };
      expect(err.message).toMatch(/errno 19 \(op 0\); the error factory threw/);
      expect(err.cause).toBe('not an error');
    });

    it('for a link wait that times out', async () => {
      loadBinding().setErrorFactory(() => {
        throw new Error('factory broke');
      });
      const err = (await loadBinding()
        .waitLinksGone(['lo'], 10)
        .catch((e: unknown) => e)) as Error & { cause?: Error };
      expect(err.message).toMatch(/^RTM_DELLINK links lo still there after 10 ms: errno 110 \(op 0\); the error factory threw/);
      expect(err.cause?.message).toBe('factory broke');
    });

    it('and with the factory back, errors are NetlinkErrors again', async () => {
      restore();
      await expect(execute([{ op: 'linkGet', name: uniqueName('none') }])).rejects.toMatchObject({ code: 'ENODEV', syscall: 'RTM_GETLINK' });
    });
  });
});
