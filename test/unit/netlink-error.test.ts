// The shape of NetlinkError, built from what the addon reports: no root, no kernel.
import { readFileSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { NetlinkError, type NativeErrorInfo } from '../../lib';

const info = (fields: Partial<NativeErrorInfo>): NativeErrorInfo => ({
  errno: -17,
  syscall: 'RTM_NEWLINK',
  object: 'br-test',
  extack: '',
  index: 0,
  ...fields,
});

describe('NetlinkError', () => {
  it('is an Error named NetlinkError with every field of the report', () => {
    const err = new NetlinkError(info({ errno: -17, syscall: 'RTM_NEWLINK', object: 'br-test', extack: 'File exists', index: 3 }));
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.name).toBe('NetlinkError');
    expect(err).toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'RTM_NEWLINK', object: 'br-test', extack: 'File exists', index: 3 });
    expect(err.stack).toContain('NetlinkError');
  });

  it.each([-1, -2, -13, -17, -19, -22, -95, -101, -3])('takes code and description of errno %i from util.getSystemErrorMap', (errno) => {
    const [code, description] = getSystemErrorMap().get(errno)!;
    const err = new NetlinkError(info({ errno }));
    expect(err.code).toBe(code);
    expect(err.errno).toBe(errno);
    expect(err.message).toBe(`${code}: ${description}, RTM_NEWLINK br-test`);
  });

  it('has the code a Node system error has for the same errno', () => {
    let nodeErr: NodeJS.ErrnoException | undefined;
    try {
      readFileSync('/nonexistent/cnm-test');
    } catch (err) {
      nodeErr = err as NodeJS.ErrnoException;
    }
    expect(nodeErr?.code).toBe('ENOENT');
    const err = new NetlinkError(info({ errno: nodeErr!.errno!, syscall: 'open', object: '/run/netns/x' }));
    expect(err.code).toBe(nodeErr!.code);
    expect(err.errno).toBe(nodeErr!.errno);
  });

  it('names the syscall, the object and the extended ack in its message', () => {
    const err = new NetlinkError(
      info({ errno: -13, syscall: 'RTM_NEWADDR', object: 'fd00::1/64 on eth0', extack: 'ipv6: IPv6 is disabled on this device' }),
    );
    expect(err.message).toContain('EACCES');
    expect(err.message).toContain('RTM_NEWADDR');
    expect(err.message).toContain('fd00::1/64 on eth0');
    expect(err.message).toContain('(ipv6: IPv6 is disabled on this device)');
  });

  it('has no extack field and no parentheses when the kernel sent none', () => {
    const err = new NetlinkError(info({ errno: -19, syscall: 'RTM_GETLINK', object: 'nope0', extack: '' }));
    expect(err.extack).toBeUndefined();
    expect(err.code).toBe('ENODEV');
    expect(err.message).not.toContain('(');
    expect(err.message.endsWith('RTM_GETLINK nope0')).toBe(true);
  });

  it('makes up a code for an errno Node does not know', () => {
    const err = new NetlinkError(info({ errno: -4242 }));
    expect(getSystemErrorMap().has(-4242)).toBe(false);
    expect(err.code).toBe('E4242');
    expect(err.errno).toBe(-4242);
    expect(err.message).toContain('unknown error');
  });
});
