// Checks of nf_tables and conntrack operations, so that bad input is refused with a clear
// INVALID_ARGUMENT before anything reaches the kernel. The addon checks names and shapes again.
import { isIP } from 'node:net';
import { invalidArgument } from '../errors';
import type { ConntrackFilter, NftBytes, NftCommand, NftElement, NftExpr, NftFamily, NftVerdict } from './nft-types';
import {
  NFT_CHAIN_TYPES,
  NFT_CHAIN_VERDICTS,
  NFT_CMP_OPS,
  NFT_CT_DIRECTIONS,
  NFT_CT_KEYS,
  NFT_FAMILIES,
  NFT_FIB_FLAGS,
  NFT_FIB_RESULTS,
  NFT_HOOKS,
  NFT_META_KEYS,
  NFT_NAT_FAMILIES,
  NFT_NAT_FLAGS,
  NFT_NAT_TYPES,
  NFT_PAYLOAD_BASES,
  NFT_PLAIN_VERDICTS,
  NFT_POLICIES,
  NFT_REJECT_TYPES,
  NFT_SET_FLAGS,
  NFT_SET_TYPES,
  PORT_PROTOCOLS,
} from './vocabulary';

const VERDICTS = [...NFT_PLAIN_VERDICTS, ...NFT_CHAIN_VERDICTS];
/** The kernel's registers hold 64 bytes (16 x 4); a value must fit from its register on. */
const REGISTER_BYTES = 64;
/** The longest value a comparison, mask or set key takes (NFT_DATA_VALUE_MAXLEN). */
const MAX_DATA_BYTES = 64;
const MAX_TIMEOUT_MS = 2 ** 50;

function oneOf<T extends string>(value: unknown, choices: readonly string[], what: string): T {
  if (typeof value !== 'string' || !choices.includes(value)) {
    throw invalidArgument(`${what} ${JSON.stringify(value)} is not one of ${choices.join(', ')}`);
  }
  return value as T;
}

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalBoolean(value: unknown, what: string): void {
  if (value !== undefined && typeof value !== 'boolean') throw invalidArgument(`${what} must be a boolean`);
}

/** Table, chain and set names: 1 to 255 bytes, no NUL. */
export function validateNftName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 255 || name.includes('\0')) {
    throw invalidArgument(`${what} name must be a string of 1 to 255 bytes without NUL, got ${JSON.stringify(name)}`);
  }
  return name;
}

export function validateNftFamily(family: unknown): NftFamily {
  return oneOf<NftFamily>(family, NFT_FAMILIES, 'nf_tables family');
}

/** Bytes: a Uint8Array (Buffer) or an even number of hex digits; returns the length. */
function byteLength(value: NftBytes | unknown, what: string, max = MAX_DATA_BYTES): number {
  let length = -1;
  if (value instanceof Uint8Array) length = value.length;
  else if (typeof value === 'string' && /^(?:[0-9a-fA-F]{2})+$/.test(value)) length = value.length / 2;
  if (length < 1 || length > max) {
    throw invalidArgument(`${what} must be 1 to ${max} bytes, as a Buffer or hex digits, got ${JSON.stringify(value)}`);
  }
  return length;
}

/** A register 0..15 that holds `bytes` from it on. */
function register(value: unknown, what: string, bytes = 4): number {
  const reg = integer(value, `${what} register`, 0, 15);
  if (reg * 4 + bytes > REGISTER_BYTES) throw invalidArgument(`${what} register ${reg} cannot hold ${bytes} bytes (registers end at 15)`);
  return reg;
}

function validateVerdict(v: Partial<NftVerdict>, what: string): void {
  oneOf(v.verdict, VERDICTS, `${what} verdict`);
  if (v.verdict === 'jump' || v.verdict === 'goto') validateNftName(v.chain, `${what} ${v.verdict} chain`);
  else if (v.chain !== undefined) throw invalidArgument(`${what}: a chain goes only with jump or goto, not ${v.verdict}`);
}

function validateNatRegisters(e: { addr?: number; addrMax?: number; port?: number; portMax?: number; flags?: unknown }, what: string): void {
  for (const key of ['addr', 'addrMax', 'port', 'portMax'] as const) {
    if (e[key] !== undefined) register(e[key], `${what} ${key}`);
  }
  if (e.flags !== undefined) {
    if (!Array.isArray(e.flags)) throw invalidArgument(`${what} flags must be an array`);
    e.flags.forEach((f) => oneOf(f, NFT_NAT_FLAGS, `${what} flag`));
  }
}

/** Checks one rule expression; `what` names it in errors ("rule 2, expression 3 (cmp)"). */
export function validateNftExpr(e: NftExpr, what: string): void {
  if (typeof e !== 'object' || e === null) throw invalidArgument(`${what} must be an object`);
  switch (e.expr) {
    case 'meta':
      oneOf(e.key, NFT_META_KEYS, `${what} key`);
      if ('dreg' in e === 'sreg' in e) throw invalidArgument(`${what} needs a dreg (load) or an sreg (set), not both`);
      if ('dreg' in e) register(e.dreg, what, e.key === 'iifname' || e.key === 'oifname' ? 16 : 4);
      else register(e.sreg, what);
      return;
    case 'payload': {
      oneOf(e.base, NFT_PAYLOAD_BASES, `${what} base`);
      integer(e.offset, `${what} offset`, 0, 255);
      const len = integer(e.len, `${what} len`, 1, MAX_DATA_BYTES);
      register(e.dreg, what, len);
      return;
    }
    case 'cmp':
      oneOf(e.op, NFT_CMP_OPS, `${what} op`);
      register(e.sreg, what, byteLength(e.data, `${what} data`));
      return;
    case 'bitwise': {
      const len = byteLength(e.mask, `${what} mask`);
      if (byteLength(e.xor, `${what} xor`) !== len) throw invalidArgument(`${what}: mask and xor must be of one length`);
      register(e.sreg, what, len);
      register(e.dreg, what, len);
      return;
    }
    case 'lookup':
      validateNftName(e.set, `${what} set`);
      register(e.sreg, what);
      if (e.dreg !== undefined && e.dreg !== 'verdict') register(e.dreg, what);
      optionalBoolean(e.invert, `${what} invert`);
      if (e.invert && e.dreg !== undefined) throw invalidArgument(`${what}: a map lookup (dreg) cannot be inverted`);
      return;
    case 'immediate':
      if ('data' in e && e.data !== undefined) {
        if (e.verdict !== undefined) throw invalidArgument(`${what} has both data and a verdict`);
        register(e.dreg, what, byteLength(e.data, `${what} data`, 16));
      } else {
        validateVerdict(e, what);
      }
      return;
    case 'ct':
      oneOf(e.key, NFT_CT_KEYS, `${what} key`);
      register(e.dreg, what, e.key.endsWith('ip6') ? 16 : 4);
      if (e.direction !== undefined) oneOf(e.direction, NFT_CT_DIRECTIONS, `${what} direction`);
      return;
    case 'fib':
      oneOf(e.result, NFT_FIB_RESULTS, `${what} result`);
      if (!Array.isArray(e.flags) || e.flags.length === 0) throw invalidArgument(`${what} flags must be a non-empty array`);
      e.flags.forEach((flag) => oneOf(flag, NFT_FIB_FLAGS, `${what} flag`));
      register(e.dreg, what, e.result === 'oifname' ? 16 : 4);
      return;
    case 'nat':
      oneOf(e.type, NFT_NAT_TYPES, `${what} type`);
      oneOf(e.family, NFT_NAT_FAMILIES, `${what} family`);
      validateNatRegisters(e, what);
      return;
    case 'masq':
    case 'redir':
      validateNatRegisters(e, what);
      return;
    case 'reject':
      if (e.type !== undefined) oneOf(e.type, NFT_REJECT_TYPES, `${what} type`);
      if (e.code !== undefined) integer(e.code, `${what} code`, 0, 255);
      return;
    case 'counter':
    case 'notrack':
      return;
    default:
      throw invalidArgument(`${what}: unknown expression ${JSON.stringify((e as { expr: unknown }).expr)}`);
  }
}

function validateParts(value: unknown, what: string): void {
  const parts = Array.isArray(value) ? value : [value];
  if (parts.length === 0) throw invalidArgument(`${what} must not be empty`);
  parts.forEach((p) => byteLength(p, what));
}

function validateElement(e: NftElement, what: string): void {
  if (typeof e !== 'object' || e === null) throw invalidArgument(`${what} must be an object`);
  validateParts(e.key, `${what} key`);
  if (e.keyEnd !== undefined) validateParts(e.keyEnd, `${what} keyEnd`);
  if (e.data !== undefined) validateParts(e.data, `${what} data`);
  if (e.verdict !== undefined) validateVerdict(e as NftVerdict, what);
  else if (e.chain !== undefined) throw invalidArgument(`${what}: a chain goes only with a jump or goto verdict`);
  if (e.data !== undefined && e.verdict !== undefined) throw invalidArgument(`${what} has both data and a verdict`);
  if (e.timeout !== undefined) integer(e.timeout, `${what} timeout`, 1, MAX_TIMEOUT_MS);
}

function validateSetTypes(value: unknown, what: string, allowVerdict: boolean): void {
  if (allowVerdict && value === 'verdict') return;
  const types = Array.isArray(value) ? value : [value];
  if (types.length === 0) throw invalidArgument(`${what} must name at least one type`);
  types.forEach((t) => oneOf(t, NFT_SET_TYPES, what));
}

/** Checks one command of a transaction; `what` names it in errors ("command 2 (addRule)"). */
export function validateNftCommand(c: NftCommand, what: string): void {
  if (typeof c !== 'object' || c === null) throw invalidArgument(`${what} must be an object`);
  validateNftFamily(c.family);
  validateNftName(c.table, `${what} table`);
  switch (c.cmd) {
    case 'addTable':
      optionalBoolean(c.exclusive, `${what} exclusive`);
      return;
    case 'deleteTable':
      optionalBoolean(c.ifExists, `${what} ifExists`);
      return;
    case 'flushTable':
      return;
    case 'addChain':
      validateNftName(c.chain, `${what} chain`);
      if (c.hook === undefined) {
        if (c.type !== undefined || c.priority !== undefined || c.policy !== undefined) {
          throw invalidArgument(`${what}: type, priority and policy need a hook (a base chain)`);
        }
        return;
      }
      oneOf(c.hook, NFT_HOOKS, `${what} hook`);
      oneOf(c.type, NFT_CHAIN_TYPES, `${what} type`);
      if (c.priority !== undefined) integer(c.priority, `${what} priority`, -(2 ** 31), 2 ** 31 - 1);
      if (c.policy !== undefined) oneOf(c.policy, NFT_POLICIES, `${what} policy`);
      return;
    case 'deleteChain':
    case 'flushChain':
      validateNftName(c.chain, `${what} chain`);
      if (c.cmd === 'deleteChain') optionalBoolean(c.ifExists, `${what} ifExists`);
      return;
    case 'addRule':
      validateNftName(c.chain, `${what} chain`);
      if (!Array.isArray(c.exprs)) throw invalidArgument(`${what} exprs must be an array`);
      c.exprs.forEach((e, i) => validateNftExpr(e, `${what} expression ${i} (${(e as { expr?: string })?.expr})`));
      if (c.comment !== undefined && (typeof c.comment !== 'string' || Buffer.byteLength(c.comment) > 127 || c.comment.includes('\0'))) {
        throw invalidArgument(`${what} comment must be a string of at most 127 bytes without NUL`);
      }
      if (c.position !== undefined) integer(c.position, `${what} position`, 1, Number.MAX_SAFE_INTEGER);
      optionalBoolean(c.insert, `${what} insert`);
      return;
    case 'deleteRule':
      validateNftName(c.chain, `${what} chain`);
      integer(c.handle, `${what} handle`, 1, Number.MAX_SAFE_INTEGER);
      optionalBoolean(c.ifExists, `${what} ifExists`);
      return;
    case 'addSet':
      validateNftName(c.set, `${what} set`);
      validateSetTypes(c.key, `${what} key type`, false);
      if (c.data !== undefined) validateSetTypes(c.data, `${what} data type`, true);
      if (c.flags !== undefined) {
        if (!Array.isArray(c.flags)) throw invalidArgument(`${what} flags must be an array`);
        c.flags.forEach((f) => oneOf(f, NFT_SET_FLAGS, `${what} flag`));
      }
      if (c.timeout !== undefined) integer(c.timeout, `${what} timeout`, 1, MAX_TIMEOUT_MS);
      optionalBoolean(c.exclusive, `${what} exclusive`);
      return;
    case 'deleteSet':
    case 'flushSet':
      validateNftName(c.set, `${what} set`);
      return;
    case 'addElements':
    case 'deleteElements':
      validateNftName(c.set, `${what} set`);
      if (!Array.isArray(c.elements) || c.elements.length === 0) throw invalidArgument(`${what} elements must be a non-empty array`);
      c.elements.forEach((e, i) => validateElement(e, `${what} element ${i}`));
      return;
    default:
      throw invalidArgument(`${what}: unknown nf_tables command ${JSON.stringify((c as { cmd: unknown }).cmd)}`);
  }
}

/** Checks the commands of a transaction. */
export function validateNftCommands(commands: NftCommand[]): void {
  if (!Array.isArray(commands)) throw invalidArgument('nf_tables commands must be an array');
  commands.forEach((c, i) => validateNftCommand(c, `command ${i} (${(c as { cmd?: string })?.cmd})`));
}

/** A conntrack filter: a family, a protocol, and a destination address and/or port. */
export function validateConntrackFilter(f: ConntrackFilter): void {
  if (f.family !== 4 && f.family !== 6) throw invalidArgument(`conntrack family must be 4 or 6, got ${JSON.stringify(f.family)}`);
  oneOf(f.protocol, PORT_PROTOCOLS, 'conntrack protocol');
  if (f.destination === undefined && f.port === undefined) {
    throw invalidArgument('conntrack delete needs a destination address or port (it would delete every flow)');
  }
  if (f.destination !== undefined && isIP(f.destination) !== f.family) {
    throw invalidArgument(`conntrack destination ${JSON.stringify(f.destination)} is not an IPv${f.family} address`);
  }
  if (f.port !== undefined) integer(f.port, 'conntrack port', 1, 65535);
}
