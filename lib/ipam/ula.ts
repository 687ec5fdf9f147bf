// The default IPv6 pool: a unique local (ULA, RFC 4193) /48 of this host, cut into /64s, derived
// from a stable host identity the way Docker derives its own (daemon.deriveULABaseNetwork).
import { createHash } from 'node:crypto';
import { formatPrefix } from './prefix';
import type { PredefinedPool } from './predefined';

/** fd00::/8: the ULA prefix with the L (locally assigned) bit set. */
const ULA_BASE = 0xfdn << 120n;
/** The 40-bit Global ID sits right after the prefix, bits 8 to 47. */
const GLOBAL_ID_SHIFT = 80n;
const GLOBAL_ID_MASK = (1n << 40n) - 1n;

/**
 * This host's ULA /48, split into /64s: the Global ID is the low 40 bits of the first 8 bytes
 * (big-endian) of SHA-256(`hostId`), as Docker computes it from its engine id, so the same id
 * gives Docker's prefix. Stable for as long as `hostId` is.
 */
export function deriveUlaPool(hostId: string): PredefinedPool {
  const digest = createHash('sha256').update(hostId).digest();
  const globalId = digest.readBigUInt64BE(0) & GLOBAL_ID_MASK;
  return { base: formatPrefix({ family: 6, base: ULA_BASE | (globalId << GLOBAL_ID_SHIFT), bits: 48 }), size: 64 };
}
