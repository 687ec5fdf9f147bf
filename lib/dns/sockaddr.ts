// The pump gives and takes the other end of a message as the kernel's sockaddr bytes.
import { endianness } from 'node:os';
import { isIP } from 'node:net';
import { ipBytes, type Family } from '../util/ip';

const AF_INET = 2;
const AF_INET6 = 10;

/** A sockaddr_in (IPv4) or sockaddr_in6 (IPv6, without a zone) for an address and port. */
export function sockaddr(address: string, port: number): Buffer {
  const family = isIP(address) as Family | 0;
  if (family === 0 || address.includes('%')) throw new TypeError(`${address} is not an IP address without a zone`);
  const b = Buffer.alloc(family === 4 ? 16 : 28);
  // sa_family is in host order, the port and address in network order (sin6_addr at byte 8).
  if (endianness() === 'LE') b.writeUInt16LE(family === 4 ? AF_INET : AF_INET6, 0);
  else b.writeUInt16BE(family === 4 ? AF_INET : AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  Buffer.from(ipBytes(address, family)).copy(b, family === 4 ? 4 : 8);
  return b;
}
