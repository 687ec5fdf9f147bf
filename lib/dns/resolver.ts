// One sandbox's embedded DNS server (libnetwork's Resolver): its sockets, opened inside the
// sandbox's namespace by the addon and served by the addon's one DNS thread, the redirect of
// 127.0.0.11:53 to them, and the answers, decided here on the JS thread from the controller's
// name records and the sandbox's networks.
import createDebug from '../util/debug';
import { randomInt } from 'node:crypto';
import { DNS_CHANNEL, type DnsMessage, type DnsSockets, type Kernel, type NativeOp } from '../native';
import { answerQuery, type NameSource } from './answer';
import { Forwarder } from './forwarder';
import type { DnsNetwork, DnsRecords } from './records';
import { redirectTable } from './redirect';
import type { ResolverUpstream as Upstream } from '../resolv-conf';

const debug = createDebug('cnm:dns');

/** What a resolver asks of its sandbox, at each query. */
export interface ResolverScope {
  /** The networks the sandbox is joined to, in join order. */
  networks(): DnsNetwork[];
  /** Whether it may reach upstream servers: joined to a network that is not internal (CVE-2024-29018). */
  mayForward(): boolean;
  upstreams(): Upstream[];
}

/** The ports of a resolver's UDP and TCP sockets. */
export type ResolverPorts = Pick<DnsSockets, 'udpPort' | 'tcpPort'>;

/**
 * Ports for a new resolver to ask for: random ones in Linux's default ephemeral range (32768 to
 * 60999), where the kernel would pick them too, away from the fixed ports services listen on.
 */
export function resolverPorts(): ResolverPorts {
  const pick = () => 32768 + randomInt(61000 - 32768);
  return { udpPort: pick(), tcpPort: pick() };
}

export class SandboxResolver {
  private id = 0;
  private forwarder: Forwarder | null = null;
  private readonly source: NameSource;

  /**
   * The resolver of the sandbox whose namespace is `key`, before its sockets exist: `openOp()`
   * opens them there on `ports` (other ones if those are taken) and points 127.0.0.11:53 at them,
   * and `attach()` takes what it returned.
   */
  constructor(
    private readonly kernel: Kernel,
    records: DnsRecords,
    private readonly scope: ResolverScope,
    private readonly key: string,
    private readonly ports: ResolverPorts,
  ) {
    this.source = {
      resolve: (name, family) => records.resolve(scope.networks(), name, family),
      reverse: (address) => records.reverse(scope.networks(), address),
    };
  }

  /**
   * The operation that opens the sockets and sends the sandbox's 127.0.0.11:53 to the ports they
   * got, replacing the redirect of an earlier resolver of the controller (`owner`: its mark). Its
   * result goes to `attach()`.
   */
  openOp(owner: string): NativeOp {
    return { op: 'dnsSockets', netns: this.key, ...this.ports, redirectTable: redirectTable(owner) };
  }

  /** Starts serving on the sockets `openOp()` returned; the pump owns them from now on. */
  attach(sockets: DnsSockets): void {
    this.id = this.kernel.dns.attach(sockets, (message) => this.receive(message));
    this.forwarder = new Forwarder(this.id, (message) => this.kernel.dns.send([message]));
    debug('resolver %d in %s on udp %d, tcp %d', this.id, this.key, sockets.udpPort, sockets.tcpPort);
  }

  /** Closes the sockets (if attached); queries under way get no answer. */
  close(): void {
    if (this.id === 0) return;
    this.forwarder?.close();
    this.kernel.dns.detach(this.id);
    this.id = 0;
  }

  private receive(message: DnsMessage): void {
    if (message.channel !== DNS_CHANNEL.udp && message.channel !== DNS_CHANNEL.tcp) return this.forwarder!.receive(message);
    const client = { channel: message.channel, conn: message.conn, peer: message.peer };
    let upstreams: Upstream[] = [];
    const mayForward = () => {
      upstreams = this.scope.mayForward() ? this.scope.upstreams() : [];
      return upstreams.length > 0;
    };
    const outcome = answerQuery(message.data, this.source, message.channel === DNS_CHANNEL.tcp ? 'tcp' : 'udp', mayForward);
    if (!outcome) return;
    if ('reply' in outcome) {
      // A repeatable UDP answer: the addon answers the same query again itself, until the names change.
      const query = outcome.repeatable && message.channel === DNS_CHANNEL.udp ? { query: message.data } : {};
      this.kernel.dns.send([{ id: this.id, ...client, data: outcome.reply, ...query }]);
    } else this.forwarder!.forward(message.data, client, upstreams);
  }
}
