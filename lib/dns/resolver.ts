// One sandbox's embedded DNS server (libnetwork's Resolver): its sockets, opened inside the
// sandbox's namespace by the addon and served by the addon's one DNS thread, the redirect of
// 127.0.0.11:53 to them, and the answers, decided here on the JS thread from the controller's
// name records and the sandbox's networks.
import createDebug from '../util/debug';
import { DNS_CHANNEL, runOne, type DnsMessage, type DnsSockets, type Kernel, type NativeOp } from '../native';
import { answerQuery, type NameSource } from './answer';
import { Forwarder } from './forwarder';
import type { DnsNetwork, DnsRecords } from './records';
import { redirectCommands } from './redirect';
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

export class SandboxResolver {
  private id = 0;
  private forwarder: Forwarder | null = null;
  private readonly source: NameSource;

  private constructor(
    private readonly kernel: Kernel,
    records: DnsRecords,
    private readonly scope: ResolverScope,
    private readonly key: string,
    private readonly ports: Pick<DnsSockets, 'udpPort' | 'tcpPort'>,
  ) {
    this.source = {
      resolve: (name, family) => records.resolve(scope.networks(), name, family),
      reverse: (address) => records.reverse(scope.networks(), address),
    };
  }

  /**
   * Opens the resolver of the sandbox whose namespace is `key`: its sockets there. Queries reach it
   * once `redirectOp()` has run.
   */
  static async open(kernel: Kernel, key: string, records: DnsRecords, scope: ResolverScope): Promise<SandboxResolver> {
    const sockets = await runOne(kernel, { op: 'dnsSockets', netns: key });
    const resolver = new SandboxResolver(kernel, records, scope, key, sockets);
    resolver.id = kernel.dns.attach(sockets, (message) => resolver.receive(message));
    resolver.forwarder = new Forwarder(resolver.id, (message) => kernel.dns.send([message]));
    debug('resolver %d in %s on udp %d, tcp %d', resolver.id, key, sockets.udpPort, sockets.tcpPort);
    return resolver;
  }

  /**
   * The operation that sends the sandbox's 127.0.0.11:53 to this resolver's ports, replacing the
   * redirect of an earlier resolver of the controller (`owner`: its mark).
   */
  redirectOp(owner: string): NativeOp {
    return { op: 'nftTransaction', netns: this.key, commands: redirectCommands(owner, this.ports.udpPort, this.ports.tcpPort) };
  }

  /** Closes the sockets; queries under way get no answer. */
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
