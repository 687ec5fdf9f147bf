// Queries for names that are not local go to the upstream servers, one after the other, as
// Docker's resolver sends them: over the transport the client used (a UDP reply flagged truncated
// goes back as it is, and the client asks again over TCP, which is then forwarded over TCP), with
// an id of their own, at most 1024 at once. The pump carries each out on a socket of its own (a
// fresh random source port, connected to the server) and reports one outcome: the reply, or a
// failure after 4 s at most (Docker's extIOTimeout), which moves on to the next server.
import { DNS_CHANNEL, type DnsMessage } from '../native';
import { serverFailure } from './answer';
import { sockaddr } from './sockaddr';
import type { ResolverUpstream as Upstream } from '../resolv-conf';

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
}

export class Forwarder {
  /** By exchange: each ask of an upstream is one. */
  private readonly pending = new Map<number, Pending>();
  private nextExchange = 1;

  constructor(
    private readonly resolverId: number,
    private readonly send: (message: DnsMessage) => void,
  ) {}

  /** Sends the client's query to the first upstream; SERVFAIL when none can be asked. */
  forward(query: Buffer, client: Client, upstreams: Upstream[]): void {
    const question = questionOf(query);
    if (upstreams.length === 0 || this.pending.size >= MAX_FORWARDED || !question) return this.fail(query, client);
    const copy = Buffer.from(query);
    const clientId = copy.readUInt16BE(0);
    copy.writeUInt16BE(Math.floor(Math.random() * 0x10000), 0);
    this.ask({ clientId, client, query: copy, upstreams, at: 0, question });
  }

  /** The outcome of an exchange: the upstream's reply (empty: it failed). */
  receive(message: DnsMessage): void {
    const entry = this.pending.get(message.conn);
    if (!entry) return;
    this.pending.delete(message.conn);
    const reply = message.data;
    // The pump took only a reply with the query's id, from the server's address and port; the
    // question is checked here.
    if (reply.length < 12 || !sameQuestion(reply, entry.question)) return this.next(entry);
    const rcode = reply.readUInt8(3) & 0x0f;
    if (rcode === RCODE_SERVFAIL || rcode === RCODE_REFUSED) return this.next(entry);
    const answer = Buffer.from(reply);
    answer.writeUInt16BE(entry.clientId, 0);
    this.send({ id: this.resolverId, channel: entry.client.channel, conn: entry.client.conn, peer: entry.client.peer, data: answer });
  }

  /** Forgets every query under way (the resolver closes). */
  close(): void {
    this.pending.clear();
  }

  private ask(entry: Pending): void {
    const upstream = entry.upstreams[entry.at];
    const exchange = this.nextExchange;
    this.nextExchange = this.nextExchange >= 0xffffffff ? 1 : this.nextExchange + 1;
    this.pending.set(exchange, entry);
    this.send({
      id: this.resolverId,
      channel: channelOf(upstream, entry.client),
      conn: exchange,
      peer: sockaddr(upstream.address, upstream.port),
      data: entry.query,
    });
  }

  /** The upstream failed: the next one, or SERVFAIL after the last. */
  private next(entry: Pending): void {
    entry.at += 1;
    if (entry.at < entry.upstreams.length) return this.ask(entry);
    const original = Buffer.from(entry.query);
    original.writeUInt16BE(entry.clientId, 0);
    this.fail(original, entry.client);
  }

  private fail(query: Buffer, client: Client): void {
    const data = serverFailure(query, client.channel === DNS_CHANNEL.tcp ? 'tcp' : 'udp');
    if (data) this.send({ id: this.resolverId, channel: client.channel, conn: client.conn, peer: client.peer, data });
  }
}

/** The namespace the upstream is asked from, and the client's transport. */
function channelOf(upstream: Upstream, client: Client): DnsMessage['channel'] {
  const tcp = client.channel === DNS_CHANNEL.tcp;
  if (upstream.fromHost) return tcp ? DNS_CHANNEL.hostForwardTcp : DNS_CHANNEL.hostForward;
  return tcp ? DNS_CHANNEL.forwardTcp : DNS_CHANNEL.forward;
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
