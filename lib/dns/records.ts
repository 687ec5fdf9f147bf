// The names the embedded DNS servers answer for, per network (libnetwork's service records): an
// endpoint joined to a network answers there to each of its DNS names. A sandbox's resolver looks
// names up only in the networks the sandbox is joined to. Names are case-insensitive.

/** One joined endpoint as DNS sees it. */
export interface DnsEntry {
  endpointId: string;
  /** Its names, the first one giving the PTR answer. */
  names: string[];
  ipv4: string | null;
  ipv6: string | null;
}

/** A network a resolver looks names up in. */
export interface DnsNetwork {
  id: string;
  name: string;
}

/** What a name resolves to: addresses, or a name that exists without an address of that family (NODATA). */
export type NameAnswer = { addresses: string[] } | { noData: true };

class NetworkNames {
  /** Lower-cased name to the endpoints that answer to it, in join order. */
  readonly names = new Map<string, Map<string, DnsEntry>>();
  /** Address to the endpoint that has it. */
  readonly addresses = new Map<string, DnsEntry>();
  /** Each endpoint's entry, so that a remove touches only its own names (not every name). */
  readonly entries = new Map<string, DnsEntry>();
}

/** Takes the endpoint's names and addresses out of the network; false if it had none there. */
function drop(network: NetworkNames, endpointId: string): boolean {
  const entry = network.entries.get(endpointId);
  if (!entry) return false;
  network.entries.delete(endpointId);
  for (const name of entry.names) {
    const key = name.toLowerCase();
    const holders = network.names.get(key);
    holders?.delete(endpointId);
    if (holders?.size === 0) network.names.delete(key);
  }
  for (const address of [entry.ipv4, entry.ipv6]) {
    if (address && network.addresses.get(address)?.endpointId === endpointId) network.addresses.delete(address);
  }
  return true;
}

export class DnsRecords {
  private readonly networks = new Map<string, NetworkNames>();
  /** Turns with every answer of several addresses, so that their order rotates query by query. */
  private turn = 0;

  /** `changed` is called after every add and remove (answers given before may be wrong now). */
  constructor(private readonly changed: () => void = () => undefined) {}

  /** The endpoint answers to its names in the network from now on (a join, a restore). */
  add(networkId: string, entry: DnsEntry): void {
    let network = this.networks.get(networkId);
    if (!network) this.networks.set(networkId, (network = new NetworkNames()));
    drop(network, entry.endpointId); // names it had before and has no more
    for (const name of entry.names) {
      const key = name.toLowerCase();
      let holders = network.names.get(key);
      if (!holders) network.names.set(key, (holders = new Map()));
      holders.set(entry.endpointId, entry);
    }
    for (const address of [entry.ipv4, entry.ipv6]) if (address) network.addresses.set(address, entry);
    network.entries.set(entry.endpointId, entry);
    this.changed();
  }

  /** The endpoint no longer answers in the network (a leave, a delete). */
  remove(networkId: string, endpointId: string): void {
    const network = this.networks.get(networkId);
    if (!network || !drop(network, endpointId)) return;
    if (network.entries.size === 0) this.networks.delete(networkId);
    this.changed();
  }

  /**
   * The addresses of `family` for a name (without its final dot) in the first of `networks` that
   * knows it; also `NAME.NETWORK` for one of those networks, as Docker's resolver does. null: unknown.
   */
  resolve(networks: DnsNetwork[], name: string, family: 4 | 6): NameAnswer | null {
    const wanted = name.toLowerCase();
    for (const network of networks) {
      const found = this.lookup(network.id, wanted, family);
      if (found) return found;
    }
    // "a.b.c": a.b in network c, then a in network b.c.
    for (let dot = wanted.lastIndexOf('.'); dot > 0; dot = wanted.lastIndexOf('.', dot - 1)) {
      const suffix = wanted.slice(dot + 1);
      const network = networks.find((n) => n.name.toLowerCase() === suffix);
      const found = network && this.lookup(network.id, wanted.slice(0, dot), family);
      if (found) return found;
    }
    return null;
  }

  /** The PTR name of an address (`NAME.NETWORK`, NAME the endpoint's first name), or null. */
  reverse(networks: DnsNetwork[], address: string): string | null {
    for (const network of networks) {
      const entry = this.networks.get(network.id)?.addresses.get(address);
      if (entry && entry.names.length > 0) return `${entry.names[0]}.${network.name}`;
    }
    return null;
  }

  private lookup(networkId: string, name: string, family: 4 | 6): NameAnswer | null {
    const holders = this.networks.get(networkId)?.names.get(name);
    if (!holders) return null;
    const addresses: string[] = [];
    for (const entry of holders.values()) {
      const address = family === 4 ? entry.ipv4 : entry.ipv6;
      if (address) addresses.push(address);
    }
    if (addresses.length === 0) return { noData: true };
    if (addresses.length > 1) {
      const shift = this.turn++ % addresses.length;
      addresses.push(...addresses.splice(0, shift));
    }
    return { addresses };
  }
}
