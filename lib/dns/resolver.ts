// One sandbox's embedded DNS server (libnetwork's Resolver): its sockets, opened inside the
// sandbox's namespace by the addon and served by the addon's one DNS thread, the redirect of
// 127.0.0.11:53 to them, and the answers, decided here on the JS thread from the controller's
// name records and the sandbox's networks.
import createDebug from '../util/debug';
import { isIPv4 } from 'node:net';
import { DNS_CHANNEL, runOne, type DnsMessage, type Kernel } from '../native';
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
  ) {
    this.source = {
      resolve: (name, family) => records.resolve(scope.networks(), name, family),
      reverse: (address) => records.reverse(scope.networks(), address),
    };
  }

  /**
   * Opens the resolver of the sandbox whose namespace is `key`: its sockets there and one in the
   * host's namespace (for upstream servers asked from the host, which the sandbox's options or the
   * host's resolv.conf may name later), then the redirect rule. Nothing is left open when a step fails.
   */
  static async open(kernel: Kernel, key: string, owner: string, records: DnsRecords, scope: ResolverScope): Promise<SandboxResolver> {
    const sockets = await runOne(kernel, { op: 'dnsSockets', netns: key, hostForward: true });
    const resolver = new SandboxResolver(kernel, records, scope);
    resolver.id = kernel.dns.attach(sockets, (message) => resolver.receive(message));
    resolver.forwarder = new Forwarder(resolver.id, (message) => kernel.dns.send([message]));
    try {
      await kernel.batch([{ op: 'nftTransaction', netns: key, commands: redirectCommands(owner, sockets.udpPort, sockets.tcpPort) }]);
    } catch (err) {
      resolver.close();
      throw err;
    }
    debug('resolver %d in %s on udp %d, tcp %d', resolver.id, key, sockets.udpPort, sockets.tcpPort);
    return resolver;
  }

  /** Closes the sockets; queries under way get no answer. */
  close(): void {
    if (this.id === 0) return;
    this.forwarder?.close();
    this.kernel.dns.detach(this.id);
    this.id = 0;
  }

  private receive(message: DnsMessage): void {
    if (message.channel === DNS_CHANNEL.forward || message.channel === DNS_CHANNEL.hostForward) return this.forwarder!.receive(message);
    const client = { channel: message.channel, conn: message.conn, peer: message.peer };
    let upstreams: Upstream[] = [];
    const mayForward = () => {
      // The forwarding sockets are IPv4: IPv6 upstream servers are not asked.
      upstreams = this.scope.mayForward() ? this.scope.upstreams().filter((u) => isIPv4(u.address)) : [];
      return upstreams.length > 0;
    };
    const outcome = answerQuery(message.data, this.source, message.channel === DNS_CHANNEL.tcp ? 'tcp' : 'udp', mayForward);
    if (!outcome) return;
    if ('reply' in outcome) this.kernel.dns.send([{ id: this.id, ...client, data: outcome.reply }]);
    else this.forwarder!.forward(message.data, client, upstreams);
  }
}
