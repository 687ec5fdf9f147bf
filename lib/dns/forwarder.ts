// Queries for names that are not local go to the upstream servers, one after the other (Docker:
// 4 s each, at most 1024 at once), with an id of their own; a reply is taken only from the server
// asked, for the question asked, and goes back to the client with the client's id.
import { DNS_CHANNEL, type DnsMessage } from '../native';
import { serverFailure } from './answer';
import { sameEnd, sockaddrV4 } from './sockaddr';
import type { ResolverUpstream as Upstream } from '../resolv-conf';

/** Docker's extIOTimeout. */
export const UPSTREAM_TIMEOUT_MS = 4000;
/** Docker's maxConcurrent: more queries under way get SERVFAIL at once. */
export const MAX_FORWARDED = 1024;

const RCODE_SERVFAIL = 2;
const RCODE_REFUSED = 5;

/** Where the reply to a client's query goes. */
export interface Client {
  channel: typeof DNS_CHANNEL.udp | typeof DNS_CHANNEL.tcp;
  conn: number;
  peer: Buffer;
}

interface Pending {
  clientId: number;
  client: Client;
  /** The query with its upstream id. */
  query: Buffer;
  upstreams: Upstream[];
  /** The upstream asked now. */
  at: number;
  /** The question section, which the reply must repeat. */
  question: Buffer;
  timer: NodeJS.Timeout;
}

export class Forwarder {
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly resolverId: number,
    private readonly send: (message: DnsMessage) => void,
  ) {}

  /** Sends the client's query to the first upstream; SERVFAIL when none can be asked. */
  forward(query: Buffer, client: Client, upstreams: Upstream[]): void {
    const question = questionOf(query);
    if (upstreams.length === 0 || this.pending.size >= MAX_FORWARDED || !question) return this.fail(query, client);
    const id = this.freeId();
    const copy = Buffer.from(query);
    const clientId = copy.readUInt16BE(0);
    copy.writeUInt16BE(id, 0);
    const entry: Pending = { clientId, client, query: copy, upstreams, at: 0, question, timer: undefined as unknown as NodeJS.Timeout };
    this.pending.set(id, entry);
    this.ask(id, entry);
  }

  /** A message on a forwarding socket: the reply of an upstream, if it is one we wait for. */
  receive(message: DnsMessage): void {
    const reply = message.data;
    if (reply.length < 12) return;
    const id = reply.readUInt16BE(0);
    const entry = this.pending.get(id);
    if (!entry) return;
    const upstream = entry.upstreams[entry.at];
    const channel = upstream.fromHost ? DNS_CHANNEL.hostForward : DNS_CHANNEL.forward;
    if (message.channel !== channel || !sameEnd(message.peer, sockaddrV4(upstream.address, upstream.port))) return;
    if (!sameQuestion(reply, entry.question)) return;
    const rcode = reply.readUInt8(3) & 0x0f;
    if ((rcode === RCODE_SERVFAIL || rcode === RCODE_REFUSED) && entry.at + 1 < entry.upstreams.length) return this.next(id, entry);
    clearTimeout(entry.timer);
    this.pending.delete(id);
    const answer = Buffer.from(reply);
    answer.writeUInt16BE(entry.clientId, 0);
    this.send({ id: this.resolverId, channel: entry.client.channel, conn: entry.client.conn, peer: entry.client.peer, data: answer });
  }

  /** Forgets every query under way (the resolver closes). */
  close(): void {
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
  }

  private ask(id: number, entry: Pending): void {
    const upstream = entry.upstreams[entry.at];
    this.send({
      id: this.resolverId,
      channel: upstream.fromHost ? DNS_CHANNEL.hostForward : DNS_CHANNEL.forward,
      conn: 0,
      peer: sockaddrV4(upstream.address, upstream.port),
      data: entry.query,
    });
    entry.timer = setTimeout(() => this.next(id, entry), UPSTREAM_TIMEOUT_MS).unref();
  }

  private next(id: number, entry: Pending): void {
    clearTimeout(entry.timer);
    entry.at += 1;
    if (entry.at < entry.upstreams.length) return this.ask(id, entry);
    this.pending.delete(id);
    const original = Buffer.from(entry.query);
    original.writeUInt16BE(entry.clientId, 0);
    this.fail(original, entry.client);
  }

  private fail(query: Buffer, client: Client): void {
    const data = serverFailure(query, client.channel === DNS_CHANNEL.tcp ? 'tcp' : 'udp');
    if (data) this.send({ id: this.resolverId, channel: client.channel, conn: client.conn, peer: client.peer, data });
  }

  private freeId(): number {
    let id: number;
    do id = Math.floor(Math.random() * 0x10000);
    while (this.pending.has(id));
    return id;
  }
}

/** The question section of a query with one question (header 12 bytes, uncompressed name, type, class). */
function questionOf(query: Buffer): Buffer | null {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
  let at = 12;
  while (at < query.length && query[at] !== 0) {
    if (query[at] > 63) return null;
    at += query[at] + 1;
  }
  const end = at + 5;
  return end <= query.length ? query.subarray(12, end) : null;
}

function sameQuestion(reply: Buffer, question: Buffer): boolean {
  if (reply.readUInt16BE(4) !== 1 || reply.length < 12 + question.length) return false;
  // Names are case-insensitive, and some servers change the case (0x20 mixing): compare lower-cased.
  const got = reply.subarray(12, 12 + question.length);
  return Buffer.from(got.toString('latin1').toLowerCase(), 'latin1').equals(Buffer.from(question.toString('latin1').toLowerCase(), 'latin1'));
}
