import { getSystemErrorMap } from 'node:util';

/** errno -> [code, description] for the errnos Node's own table lacks (filled in from the addon). */
const extraErrnoNames = new Map<number, [string, string]>();

/**
 * Adds the C library's names of errnos (positive numbers) to those NetlinkError knows; Node's names
 * win where both have one, so a NetlinkError has the code a Node system error has.
 */
export function addErrnoNames(names: { errno: number; code: string; description: string }[]): void {
  for (const { errno, code, description } of names) extraErrnoNames.set(-errno, [code, description]);
}

/** The code ('EXFULL') and description of a negative errno; `E<n>` and 'unknown error' if nobody knows it. */
export function describeErrno(errno: number): [string, string] {
  return getSystemErrorMap().get(errno) ?? extraErrnoNames.get(errno) ?? [`E${-errno}`, 'unknown error'];
}

/** What the addon reports about a failed kernel call; see `NetlinkError`. */
export interface NativeErrorInfo {
  /** Negative errno, as in Node's system errors. */
  errno: number;
  /** The call or netlink message that failed: 'RTM_NEWLINK', 'setns', 'mount', 'open', ... */
  syscall: string;
  /** What it acted on: an interface name, a namespace path, an address. */
  object: string;
  /** The kernel's extended-ack text, or ''. */
  extack: string;
  /** The position of the failed operation in its batch. */
  index: number;
  /** For an nf_tables transaction: the position of the refused command (absent otherwise). */
  command?: number;
}

/**
 * A kernel call failed. Shaped like Node's system errors: branch on `code` ('EEXIST', 'ENODEV',
 * ...); `errno` is negative, `syscall` names the netlink message or system call.
 */
export class NetlinkError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  /** The interface, namespace path or address the call acted on. */
  readonly object: string;
  /** The kernel's extended-ack message, when it sent one. */
  readonly extack?: string;
  /** The position of the failed operation in its batch (0 for a single call). */
  readonly index: number;
  /**
   * For an nf_tables transaction: the position of the command the kernel refused. The kernel
   * undid the whole transaction.
   */
  readonly command?: number;

  constructor(info: NativeErrorInfo) {
    const [code, description] = describeErrno(info.errno);
    const extack = info.extack ? ` (${info.extack})` : '';
    const command = info.command !== undefined ? ` [command ${info.command}]` : '';
    super(`${code}: ${description}, ${info.syscall} ${info.object}${extack}${command}`);
    this.name = 'NetlinkError';
    this.code = code;
    this.errno = info.errno;
    this.syscall = info.syscall;
    this.object = info.object;
    if (info.extack) this.extack = info.extack;
    this.index = info.index;
    if (info.command !== undefined) this.command = info.command;
  }
}
