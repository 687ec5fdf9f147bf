// The shape of NetlinkError, built from what the addon reports: no root, no kernel.
import { readFileSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { NetlinkError, type NativeErrorInfo } from '../../lib/kernel';
import { loadBinding } from '../../lib/native';

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
    const err = new NetlinkError(info({ errno: -13, syscall: 'RTM_NEWADDR', object: 'fd00::1/64 on eth0', extack: 'ipv6: IPv6 is disabled on this device' }));
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

describe("NetlinkError names every errno (the addon gives the C library's names)", () => {
  // Linux assigns every errno from 1 to 133 but 41 and 58.
  const UNASSIGNED = new Set([41, 58]);
  const assigned = Array.from({ length: 133 }, (_, i) => i + 1).filter((n) => !UNASSIGNED.has(n));

  beforeAll(() => {
    loadBinding();
  });

  it('reports errno 54 (which Node\'s table lacks) as EXFULL, "Exchange full"', () => {
    expect(getSystemErrorMap().has(-54)).toBe(false);
    const err = new NetlinkError(info({ errno: -54, syscall: 'RTM_NEWLINK', object: 'vethabc' }));
    expect(err.code).toBe('EXFULL');
    expect(err.message).toBe('EXFULL: Exchange full, RTM_NEWLINK vethabc');
  });

  it.each(assigned)('names errno %i with a symbolic code and a real description', (n) => {
    const err = new NetlinkError(info({ errno: -n }));
    expect(err.code).toMatch(/^E[A-Z0-9]+$/);
    expect(err.code).not.toBe(`E${n}`);
    expect(err.message).not.toContain('unknown error');
  });

  it("keeps Node's code where Node has one, so it matches Node's own system errors", () => {
    expect(new NetlinkError(info({ errno: -95 })).code).toBe(getSystemErrorMap().get(-95)![0]);
  });
});
