// lib/util/ip.ts: loopback addresses in every spelling (resolv.conf keeps none of the host's).
import { isIP } from 'node:net';
import { isLoopback, type Family } from '../../lib/util/ip';

const loopback = (address: string) => isLoopback(address, isIP(address) as Family);

test.each([
  '127.0.0.1',
  '127.0.0.53',
  '127.255.255.254',
  '::1',
  '0:0:0:0:0:0:0:1',
  '0000::0001',
  '::ffff:127.0.0.1',
  '::FFFF:127.1.2.3',
  '0:0:0:0:0:ffff:7f00:1',
])('%s is loopback', (address) => expect(loopback(address)).toBe(true));

test.each(['10.0.0.2', '128.0.0.1', '0.0.0.0', '::', '::2', '1::1', 'fd00::1', '::ffff:10.0.0.3', '::fffe:127.0.0.1', '::127.0.0.1', 'fe80::1'])(
  '%s is not loopback',
  (address) => expect(loopback(address)).toBe(false),
);
