// A sandbox's gateway endpoint (libnetwork's): the joined endpoint that gives the sandbox its
// default route and outside access, and whose published ports are programmed. It is the one with
// the highest join priority, the first joined on a tie; these are the moves between endpoints.
import type { BoundPort, JoinTarget, PortBinding } from './drivers/api';
import type { Endpoint } from './endpoint';

/** Where and how an endpoint is joined to the sandbox. */
export interface Attachment {
  endpoint: Endpoint;
  ifname: string;
  priority: number;
  order: number;
}

/** What the gateway needs of its sandbox. */
export interface GatewayHost {
  attachments(): Attachment[];
  target(ifname: string, defaultRoute: boolean): JoinTarget;
  /** A new gateway endpoint could not publish its ports (see `elect`). */
  portsUnavailable(endpoint: Endpoint, error: Error): void;
}

export class Gateway {
  /** The current gateway endpoint, or null. */
  endpoint: Endpoint | null = null;

  constructor(private readonly host: GatewayHost) {}

  /** The joined endpoints that can be the gateway, best first. */
  candidates(): Attachment[] {
    return this.host
      .attachments()
      .filter((a) => a.endpoint.joinInfo?.gateway || a.endpoint.joinInfo?.gatewayIPv6)
      .sort((a, b) => b.priority - a.priority || a.order - b.order);
  }

  /**
   * After the gateway endpoint left (there is none now): the best remaining one takes over.
   * Returns it. Ports it cannot publish (a host port that another process holds) do not stop the
   * move, as in libnetwork: they go into its `unpublished` and to the host, and it goes on without.
   */
  async elect(): Promise<Endpoint | null> {
    const next = this.candidates()[0];
    if (!next) return null;
    await this.routeThrough(next);
    this.endpoint = next.endpoint;
    await this.publishOrReport(next.endpoint);
    return next.endpoint;
  }

  /** Publishes the endpoint's ports; what fails goes into its `unpublished` and to the host, and is returned. */
  private async publishOrReport(endpoint: Endpoint): Promise<Error | null> {
    const portMapping = endpoint.options.portMapping ?? [];
    try {
      await program(endpoint, portMapping);
      return null;
    } catch (err) {
      endpoint.setUnpublished({ portMapping, reason: (err as Error).message });
      this.host.portsUnavailable(endpoint, err as Error);
      return err as Error;
    }
  }

  /**
   * Undo of a move: the default route and external connectivity go back to `previous`, with the
   * very ports it had published (`published`, so that a picked host port stays the same).
   */
  async restore(previous: Attachment | null, published: BoundPort[] | null): Promise<void> {
    if (previous) await this.routeThrough(previous);
    await this.move(previous?.endpoint ?? null, published);
  }

  /**
   * Makes `to` the gateway endpoint: the old one's external connectivity (published ports) is
   * revoked and the new one's programmed (libnetwork's updateExternalConnectivity), with
   * `bindings` when given (an undo), else the ports it asks for.
   */
  async move(to: Endpoint | null, bindings: PortBinding[] | null = null): Promise<void> {
    const from = this.endpoint;
    if (from === to) return;
    if (from) {
      await from.network.driver.revokeExternalConnectivity?.(from.network.id, from.id);
      from.setPublished(null);
    }
    this.endpoint = to;
    if (to) await program(to, bindings ?? to.options.portMapping ?? []);
  }

  /**
   * At restore: the gateway is the endpoint a live sandbox would have elected; what a crash in the
   * middle of a move may have left otherwise is put back (the default route, where two or more
   * endpoints could give it, and the published ports). What fails goes into `errors` and the
   * other steps go on.
   */
  async repair(errors: unknown[]): Promise<void> {
    const attempt = (step: () => Promise<unknown>) =>
      step().then(
        () => true,
        (err: unknown) => (errors.push(err), false),
      );
    const candidates = this.candidates();
    this.endpoint = candidates[0]?.endpoint ?? null;
    if (candidates.length > 1) await attempt(() => this.routeThrough(candidates[0]));
    const gateway = this.endpoint;
    for (const e of this.host
      .attachments()
      .map((a) => a.endpoint)
      .filter((x) => x !== gateway && x.published)) {
      if (await attempt(() => e.network.driver.revokeExternalConnectivity?.(e.network.id, e.id) ?? Promise.resolve())) e.setPublished(null);
    }
    if (gateway && !gateway.published && (gateway.options.portMapping?.length ?? 0) > 0) {
      const failed = await this.publishOrReport(gateway);
      if (failed) errors.push(failed);
    }
  }

  /** Points the sandbox's default route through that attachment's interface (its network's gateway). */
  async routeThrough({ endpoint, ifname }: Attachment): Promise<void> {
    await endpoint.network.driver.setDefaultRoute?.(endpoint.network.id, endpoint.id, this.host.target(ifname, true));
  }
}

/** Publishes the endpoint's ports through its driver and keeps what was bound. */
async function program(endpoint: Endpoint, portMapping: PortBinding[]): Promise<void> {
  const made = await endpoint.network.driver.programExternalConnectivity?.(endpoint.network.id, endpoint.id, { portMapping });
  endpoint.setPublished(made?.length ? made : null);
}
