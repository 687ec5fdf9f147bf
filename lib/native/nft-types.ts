// The shapes of nf_tables and conntrack operations at the native boundary. They mirror
// native/bindings/nftconvert.cc; lib/native/nft-expr.ts builds the common expressions.
import type * as words from './vocabulary';

/** The nf_tables families cnm-ts works with (`nft add table inet NAME`). */
export type NftFamily = (typeof words.NFT_FAMILIES)[number];
/** A netfilter hook a base chain is attached to (prerouting, input, forward, output, postrouting). */
export type NftHook = (typeof words.NFT_HOOKS)[number];
/** A base chain's type: filter, nat or route. */
export type NftChainType = (typeof words.NFT_CHAIN_TYPES)[number];
/** A base chain's policy: accept or drop. */
export type NftPolicy = (typeof words.NFT_POLICIES)[number];

/** Raw bytes: a Buffer / Uint8Array, or a string of hex digits ('0a000001'). */
export type NftBytes = Uint8Array | string;

/**
 * A register: 0 to 15, the kernel's 32-bit registers NFT_REG32_00..15 (used everywhere, never
 * the old 16-byte NFT_REG_1..4). A value longer than 4 bytes fills the registers after it too: an
 * interface name loaded into 0 takes 0..3, and a concatenation puts each field in its own
 * register(s) (ipv4_addr . inet_service at 0 is the address in 0, the port in 1).
 */
export type NftRegister = number;

/** A packet meta key an expression loads (`meta iifname`, `meta l4proto`...). */
export type NftMetaKey = (typeof words.NFT_META_KEYS)[number];
/** A conntrack key an expression loads (`ct state`, `ct original daddr`...). */
export type NftCtKey = (typeof words.NFT_CT_KEYS)[number];
/** A comparison of a cmp expression (eq, neq, lt, lte, gt, gte). */
export type NftCmpOp = (typeof words.NFT_CMP_OPS)[number];
/** Which header a payload expression reads from: link, network or transport. */
export type NftPayloadBase = (typeof words.NFT_PAYLOAD_BASES)[number];
/** A flag of a nat expression (persistent, random, fully-random...). */
export type NftNatFlag = (typeof words.NFT_NAT_FLAGS)[number];

/** A verdict: end the chain's evaluation (accept, drop, return), go on, or enter another chain. */
export type NftVerdict =
  { verdict: (typeof words.NFT_PLAIN_VERDICTS)[number]; chain?: undefined } | { verdict: (typeof words.NFT_CHAIN_VERDICTS)[number]; chain: string };

/** One nf_tables expression of a rule, run in order; a failed comparison ends the rule. */
export type NftExpr =
  /** Load packet metadata into `dreg`. */
  | { expr: 'meta'; key: NftMetaKey; dreg: NftRegister }
  /** Set packet metadata (e.g. the mark) from `sreg`. */
  | { expr: 'meta'; key: NftMetaKey; sreg: NftRegister }
  /** Load `len` bytes at `offset` of a header into `dreg`. */
  | { expr: 'payload'; base: NftPayloadBase; offset: number; len: number; dreg: NftRegister }
  /** Compare `sreg` with `data`; the rule stops here unless it holds. */
  | { expr: 'cmp'; op: NftCmpOp; sreg: NftRegister; data: NftBytes }
  /** dreg = (sreg & mask) ^ xor, over mask's length (a prefix match is a mask then a cmp). */
  | { expr: 'bitwise'; sreg: NftRegister; dreg: NftRegister; mask: NftBytes; xor: NftBytes }
  /**
   * Look `sreg` up in a named set; without `dreg` the rule stops unless it is there (or, with
   * `invert`, unless it is not). In a map, the value goes into `dreg` ('verdict' for a verdict map).
   */
  | { expr: 'lookup'; set: string; sreg: NftRegister; dreg?: NftRegister | 'verdict'; invert?: boolean }
  /** A verdict. */
  | ({ expr: 'immediate' } & NftVerdict)
  /** Put constant bytes (at most 16) into `dreg`. */
  | { expr: 'immediate'; dreg: NftRegister; data: NftBytes; verdict?: undefined }
  /** Load a conntrack value; `direction` for the per-direction keys (src, dst, daddr-ip, ...). */
  | { expr: 'ct'; key: NftCtKey; dreg: NftRegister; direction?: (typeof words.NFT_CT_DIRECTIONS)[number] }
  /**
   * A routing lookup (nft's `fib`): with result 'type' and flags ['daddr'], the address type of the
   * destination (RTN_LOCAL = 2 for the host's own addresses) goes into `dreg`.
   */
  | { expr: 'fib'; result: (typeof words.NFT_FIB_RESULTS)[number]; flags: (typeof words.NFT_FIB_FLAGS)[number][]; dreg: NftRegister }
  /** Source or destination NAT to the address (and port) held in registers. */
  | {
      expr: 'nat';
      type: (typeof words.NFT_NAT_TYPES)[number];
      family: (typeof words.NFT_NAT_FAMILIES)[number];
      addr?: NftRegister;
      addrMax?: NftRegister;
      port?: NftRegister;
      portMax?: NftRegister;
      flags?: NftNatFlag[];
    }
  /** Source NAT to the outgoing interface's address. */
  | { expr: 'masq'; port?: NftRegister; portMax?: NftRegister; flags?: NftNatFlag[] }
  /** Destination NAT to the host itself. */
  | { expr: 'redir'; port?: NftRegister; portMax?: NftRegister; flags?: NftNatFlag[] }
  | { expr: 'counter' }
  | { expr: 'notrack' }
  /** Refuse with a TCP reset or an ICMP error (default: icmpx port-unreachable). */
  | { expr: 'reject'; type?: (typeof words.NFT_REJECT_TYPES)[number]; code?: number };

/** nft's data types for set keys and map values. */
export type NftSetType = (typeof words.NFT_SET_TYPES)[number];

/**
 * A set element. A key is bytes, or one bytes value per field of a concatenation (cnm-ts pads
 * each field to 4 bytes). In an interval set give `keyEnd`, the last value of the range (equal to
 * `key` for a single value). A map's element has `data` (or a verdict, in a verdict map).
 */
export interface NftElement {
  key: NftBytes | NftBytes[];
  keyEnd?: NftBytes | NftBytes[];
  data?: NftBytes | NftBytes[];
  verdict?: NftVerdict['verdict'];
  chain?: string;
  /** Milliseconds, in a set with timeouts. */
  timeout?: number;
}

interface NftTarget {
  family: NftFamily;
  table: string;
}

/** One command of an nf_tables transaction. */
export type NftCommand =
  /** `nft add table` (`exclusive`: `nft create table`, EEXIST if it exists). */
  | ({ cmd: 'addTable'; exclusive?: boolean } & NftTarget)
  /** `nft delete table` (`ifExists`: `nft destroy table`, no error if missing; kernel 6.3). */
  | ({ cmd: 'deleteTable'; ifExists?: boolean } & NftTarget)
  /** `nft flush table`: every rule of every chain. */
  | ({ cmd: 'flushTable' } & NftTarget)
  /**
   * `nft add chain`; with `hook`, a base chain (`{ type nat hook postrouting priority 100; policy
   * accept; }`).
   */
  | ({ cmd: 'addChain'; chain: string; type?: NftChainType; hook?: NftHook; priority?: number; policy?: NftPolicy } & NftTarget)
  | ({ cmd: 'deleteChain'; chain: string; ifExists?: boolean } & NftTarget)
  | ({ cmd: 'flushChain'; chain: string } & NftTarget)
  /**
   * `nft add rule` (append; with `position`, after that rule) or `nft insert rule` (`insert`:
   * prepend, or before `position`). `comment` is nft's rule comment: a tag to find it by.
   */
  | ({ cmd: 'addRule'; chain: string; exprs: NftExpr[]; comment?: string; position?: number; insert?: boolean } & NftTarget)
  | ({ cmd: 'deleteRule'; chain: string; handle: number; ifExists?: boolean } & NftTarget)
  /** `nft add set` / `nft add map` (with `data`; 'verdict' makes a verdict map). */
  | ({
      cmd: 'addSet';
      set: string;
      key: NftSetType | NftSetType[];
      data?: NftSetType | NftSetType[] | 'verdict';
      flags?: (typeof words.NFT_SET_FLAGS)[number][];
      /** Default element timeout, milliseconds. */
      timeout?: number;
      exclusive?: boolean;
    } & NftTarget)
  | ({ cmd: 'deleteSet'; set: string; ifExists?: boolean } & NftTarget)
  | ({ cmd: 'flushSet'; set: string } & NftTarget)
  | ({ cmd: 'addElements'; set: string; elements: NftElement[] } & NftTarget)
  | ({ cmd: 'deleteElements'; set: string; elements: NftElement[] } & NftTarget);

/** A table as `nft list tables` shows it. */
export interface NftTableInfo {
  family: NftFamily;
  name: string;
  handle: number;
  flags: number;
  /** How many chains, sets and objects it holds. */
  use: number;
}

/** A chain as `nft list chains` shows it (hook, priority and policy for base chains). */
export interface NftChainInfo {
  family: NftFamily;
  table: string;
  name: string;
  handle: number;
  /** How many rules and jumps refer to it. */
  use: number;
  /** Base chains only. */
  type?: NftChainType;
  hook?: NftHook;
  priority?: number;
  policy?: NftPolicy;
}

/** A rule as `nft -a list chain` shows it: its handle, comment and expression names. */
export interface NftRuleInfo {
  family: NftFamily;
  table: string;
  chain: string;
  handle: number;
  /** nft's rule comment, or null. */
  comment: string | null;
  /** The expressions' kernel names, in order ('meta', 'cmp', 'masq', ...). */
  exprs: string[];
}

/** A set as `nft list sets` shows it. */
export interface NftSetInfo {
  family: NftFamily;
  table: string;
  name: string;
  handle: number;
  flags: number;
  map: boolean;
  interval: boolean;
  keyType: number;
  keyLen: number;
  dataType: number;
  dataLen: number;
  /** Default element timeout, milliseconds (0: none). */
  timeout: number;
}

/** An element as the kernel holds it (an interval set holds a range as a start and an end element). */
export interface NftElementInfo {
  /** Hex. */
  key: string;
  keyEnd?: string;
  data?: string;
  verdict?: NftVerdict['verdict'];
  chain?: string;
  /** The exclusive end of a range in an interval set. */
  intervalEnd: boolean;
  timeout?: number;
  expires?: number;
}

/** Which conntrack entries to delete, by their original direction (what the client sent to). */
export interface ConntrackFilter {
  family: 4 | 6;
  protocol: (typeof words.PORT_PROTOCOLS)[number];
  /** Original destination address. */
  destination?: string;
  /** Original destination port. */
  port?: number;
}
