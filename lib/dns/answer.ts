// What the embedded DNS server says to one query, as Docker's resolver (libnetwork/resolver.go)
// does: A / AAAA for the names of the sandbox's networks, PTR for their addresses, TTL 600; a
// name that exists without an address of the asked family gets an empty answer (NODATA); the rest
// goes to the upstream servers, or gets SERVFAIL when the sandbox may not reach them. A UDP answer
// longer than the client takes (512 bytes, or its EDNS size) is cut and flagged truncated, so that
// the client asks again over TCP.
import * as dnsPacket from 'dns-packet';
import type { Answer, Packet, Question } from 'dns-packet';
import { isIP } from 'node:net';
import type { NameAnswer } from './records';

/** Docker's respTTL. */
export const ANSWER_TTL = 600;
/** RFC 1035's limit of a UDP message without EDNS. */
export const UDP_LIMIT = 512;

const RCODE = { NOERROR: 0, SERVFAIL: 2, NOTIMP: 4 } as const;

/** The names the answer comes from. */
export interface NameSource {
  resolve(name: string, family: 4 | 6): NameAnswer | null;
  reverse(address: string): string | null;
}

/**
 * A reply to send, or the query to forward upstream (the caller knows whether it may). `repeatable`:
 * the same query gets the same reply until the names change (a local answer of at most one record,
 * so no order to rotate).
 */
export type Outcome = { reply: Buffer; repeatable?: true } | { forward: true };

/**
 * The outcome of one query received over `transport`; null for what is not a query (dropped).
 * `mayForward()`: the sandbox may reach upstream servers (not only internal networks, and some
 * known); asked only for names that are not local, so that a local answer never looks them up.
 */
export function answerQuery(query: Buffer, source: NameSource, transport: 'udp' | 'tcp', mayForward: () => boolean): Outcome | null {
  let packet: Packet;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return null;
  }
  const question = packet.questions?.[0];
  if (packet.type !== 'query' || !question) return null;
  if (((packet.flags ?? 0) >> 11) & 0xf) return { reply: reply(packet, question, [], RCODE.NOTIMP, transport) };
  const answers = question.class === 'IN' ? localAnswers(question, source) : null;
  if (answers) {
    const encoded = reply(packet, question, answers, RCODE.NOERROR, transport);
    return answers.length <= 1 ? { reply: encoded, repeatable: true } : { reply: encoded };
  }
  if (mayForward()) return { forward: true };
  return { reply: reply(packet, question, [], RCODE.SERVFAIL, transport) };
}

/** A SERVFAIL reply to a query (the upstream servers did not answer). */
export function serverFailure(query: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
  try {
    const packet = dnsPacket.decode(query);
    const question = packet.questions?.[0];
    return question ? reply(packet, question, [], RCODE.SERVFAIL, transport) : null;
  } catch {
    return null;
  }
}

/** The local answers (possibly none: NODATA), or null when the name is not local. */
function localAnswers(question: Question, source: NameSource): Answer[] | null {
  const { name, type } = question;
  if (type === 'A' || type === 'AAAA') {
    const found = source.resolve(name, type === 'A' ? 4 : 6);
    if (!found) return null;
    if ('noData' in found) return [];
    return found.addresses.map((data) => ({ name, type, class: 'IN', ttl: ANSWER_TTL, data }) as Answer);
  }
  if (type === 'PTR') {
    const address = reverseAddress(name);
    const target = address && source.reverse(address);
    return target ? [{ name, type: 'PTR', class: 'IN', ttl: ANSWER_TTL, data: target }] : null;
  }
  return null;
}

/** The address a reverse name stands for (`4.3.2.1.in-addr.arpa`, 32 nibbles `.ip6.arpa`), or null. */
export function reverseAddress(name: string): string | null {
  const lower = name.toLowerCase().replace(/\.$/, '');
  if (lower.endsWith('.in-addr.arpa')) {
    const parts = lower.slice(0, -'.in-addr.arpa'.length).split('.');
    const address = parts.reverse().join('.');
    return parts.length === 4 && isIP(address) === 4 ? address : null;
  }
  if (lower.endsWith('.ip6.arpa')) {
    const nibbles = lower.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return null;
    const hex = nibbles.reverse().join('');
    const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ''));
    return canonicalIPv6(groups.join(':'));
  }
  return null;
}

/** The compressed form ("fd00::2"), as endpoint addresses are written. */
function canonicalIPv6(full: string): string {
  return new URL(`http://[${full}]`).hostname.slice(1, -1);
}

function reply(query: Packet, question: Question, answers: Answer[], rcode: number, transport: 'udp' | 'tcp'): Buffer {
  const recursionDesired = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const base = { type: 'response' as const, id: query.id ?? 0, questions: [question] };
  let flags = recursionDesired | dnsPacket.RECURSION_AVAILABLE | rcode;
  let encoded = encode({ ...base, flags, answers });
  const limit = transport === 'tcp' ? 65535 : udpLimit(query);
  if (encoded.length <= limit) return encoded;
  // Keep what fits and say so: the client asks again over TCP.
  flags |= dnsPacket.TRUNCATED_RESPONSE;
  const kept = [...answers];
  do {
    kept.pop();
    encoded = encode({ ...base, flags, answers: kept });
  } while (encoded.length > limit && kept.length > 0);
  return encoded;
}

/**
 * Where replies are encoded: dns-packet would allocate a zero-filled buffer of its own for each
 * (most of a local answer's cost, in allocation and garbage collection); the reply is then copied
 * out, into Node's pooled memory.
 */
const scratch = Buffer.allocUnsafe(65535);

function encode(packet: Packet): Buffer {
  if (dnsPacket.encodingLength(packet) > scratch.length) return dnsPacket.encode(packet);
  dnsPacket.encode(packet, scratch, 0);
  return Buffer.from(scratch.subarray(0, dnsPacket.encode.bytes));
}

/** What the client takes over UDP: its EDNS size, at least 512. */
function udpLimit(query: Packet): number {
  const opt = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  return Math.max(UDP_LIMIT, opt?.udpPayloadSize ?? 0);
}
