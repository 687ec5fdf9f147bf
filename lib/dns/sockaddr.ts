// The pump gives and takes the other end of a UDP message as the kernel's sockaddr bytes.
import { endianness } from 'node:os';
import { isIPv4 } from 'node:net';

const AF_INET = 2;

/** A sockaddr_in for an IPv4 address and port. */
export function sockaddrV4(address: string, port: number): Buffer {
  if (!isIPv4(address)) throw new TypeError(`${address} is not an IPv4 address`);
  const b = Buffer.alloc(16);
  // sa_family is in host order, the port and address in network order.
  if (endianness() === 'LE') b.writeUInt16LE(AF_INET, 0);
  else b.writeUInt16BE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  address.split('.').forEach((octet, i) => b.writeUInt8(Number(octet), 4 + i));
  return b;
}

/** Whether two sockaddr_in name the same address and port. */
export function sameEnd(a: Buffer, b: Buffer): boolean {
  return a.length >= 8 && b.length >= 8 && a.compare(b, 0, 8, 0, 8) === 0;
}
