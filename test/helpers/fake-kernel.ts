// A kernel in memory for the rootless unit tests: it runs the same batches the addon runs (checked
// by the same validation), records every operation, and models what the CNM objects rely on:
// namespaces (as files in the test's own folder, as `ip netns add` leaves them), links, addresses,
// routes, sysctls, nf_tables tables, host ports, the state lock, and the state files themselves.
// A fault can be set at any operation, so undo can be tested at every step of a public call.
import { constants } from 'node:os';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Kernel, LinkInfo, NativeOp, NativeResult, RouteInfo } from '../../lib/kernel';
import { NetlinkError } from '../../lib/kernel';
import { isDnsSockets } from '../../lib/native/submit';
import { validateOp } from '../../lib/native/validate';
import { FakeDnsPump } from './fake-dns-pump';

/** A link in a fake namespace. */
export interface FakeLink {
  index: number;
  name: string;
  kind: string | null;
  up: boolean;
  mtu: number;
  mac: string;
  master: string | null;
  alias: string | null;
  group: number;
  /** A bridge port's hairpin mode. */
  hairpin: boolean;
  /** A veth's other end: its namespace ('' for the host) and index. */
  peer: { netns: string; index: number } | null;
}

/** What a fake namespace holds. */
export interface FakeNamespace {
  links: Map<string, FakeLink>;
  /** "ifname address/prefix" */
  addresses: Set<string>;
  routes: RouteInfo[];
  sysctls: Map<string, string>;
  /** "family table" */
  nftTables: Set<string>;
  /** Set elements by "family table set", as JSON, for tests that look at the firewall's content. */
  nftElements: Map<string, Set<string>>;
}

type Op<K extends NativeOp['op']> = Extract<NativeOp, { op: K }>;
type Handlers = { [K in NativeOp['op']]: (op: Op<K>) => unknown };

const HOST = '';
const emptyNamespace = (): FakeNamespace => ({
  links: new Map(),
  addresses: new Set(),
  routes: [],
  sysctls: new Map(),
  nftTables: new Set(),
  nftElements: new Map(),
});

/** The error the addon reports for a failed call, with the errno named by its code. */
export function kernelError(code: keyof typeof constants.errno, syscall: string, object: string, index = 0): NetlinkError {
  return new NetlinkError({ errno: -constants.errno[code], syscall, object, extack: '', index });
}

export class FakeKernel implements Kernel {
  /** Every operation run, in order (failed ones too). */
  readonly log: NativeOp[] = [];
  readonly namespaces = new Map<string, FakeNamespace>([[HOST, emptyNamespace()]]);
  /** Held host ports: "proto port" (IPv4) or "proto6 port" (IPv6) to fd. */
  readonly ports = new Map<string, number>();
  /** Ports some process holds in every namespace: dnsSockets does not get them. */
  readonly takenPorts = new Set<number>();
  /** DNS sockets handed out by dnsSockets and not yet closed or given to the pump: fd to namespace. */
  readonly dnsSockets = new Map<number, string>();
  readonly dns = new FakeDnsPump();
  private readonly locks = new Map<string, number>();
  private nextIndex = 2;
  private nextFd = 100;
  private failAt: { at: number; code: keyof typeof constants.errno } | null = null;

  /** `hostRoutes`: the host's routes (destinations), which predefined pools must avoid. */
  constructor(hostRoutes: string[] = []) {
    this.dns.onAttach = (fds) => fds.forEach((fd) => this.dnsSockets.delete(fd));
    const host = this.ns(HOST);
    host.links.set('lo', this.newLink('lo', null));
    for (const destination of hostRoutes) host.routes.push(route(destination, null, 'eth0'));
  }

  /** Makes the `n`th operation from now (0: the next one) fail with `code`, once. */
  failOperation(n: number, code: keyof typeof constants.errno = 'EIO'): void {
    this.failAt = { at: this.log.length + n, code };
  }

  async batch(ops: NativeOp[]): Promise<NativeResult[]> {
    ops.forEach(validateOp);
    await Promise.resolve(); // never synchronous, as a worker trip is not
    const results: NativeResult[] = [];
    for (const [index, op] of ops.entries()) {
      this.log.push(op);
      try {
        if (this.failAt?.at === this.log.length - 1) throw kernelError(this.failAt.code, 'injected', op.op);
        results.push((this.handlers[op.op] as (op: NativeOp) => unknown)(op) as NativeResult);
      } catch (err) {
        if (!(err instanceof NetlinkError)) throw err;
        // As the addon does: the DNS sockets this batch handed out are closed, no one gets them.
        for (const r of results) if (isDnsSockets(r)) [r.udp, r.tcp, r.netns].forEach((fd) => this.dnsSockets.delete(fd));
        throw kernelError(err.code as keyof typeof constants.errno, err.syscall, err.object, index);
      }
    }
    return results;
  }

  async waitLinksGone(names: string[]): Promise<void> {
    const left = names.filter((name) => this.ns(HOST).links.has(name));
    if (left.length > 0) throw kernelError('ETIMEDOUT', 'waitLinksGone', left.join(' '));
  }

  async checkPrivileges(): Promise<void> {}

  /** The namespace at `netns` (path; '' or absent: the host). ENOENT if there is none. */
  ns(netns: string | undefined): FakeNamespace {
    const found = this.namespaces.get(netns ?? HOST);
    if (!found) throw kernelError('ENOENT', 'setns', netns!);
    return found;
  }

  /** The link `name` of a namespace; ENODEV if there is none. */
  link(name: string, netns?: string): FakeLink {
    const found = this.ns(netns).links.get(name);
    if (!found) throw kernelError('ENODEV', 'RTM_GETLINK', name);
    return found;
  }

  /** Everything the kernel holds, without link indexes, for before / after comparisons. */
  snapshot(): unknown {
    const namespaces = [...this.namespaces].map(([key, n]) => ({
      key,
      links: [...n.links.values()].map(({ index: _i, peer, ...rest }) => ({ ...rest, peer: peer?.netns ?? null })),
      addresses: [...n.addresses].sort(),
      routes: n.routes.map((r) => JSON.stringify(r)).sort(),
      nftTables: [...n.nftTables].sort(),
      nftElements: [...n.nftElements].map(([set, elements]) => [set, [...elements].sort()]).filter(([, e]) => e.length > 0),
    }));
    const dns = { loose: this.dnsSockets.size, resolvers: this.dns.attached.size };
    return { namespaces, ports: [...this.ports.keys()].sort(), locks: [...this.locks.keys()], dns };
  }

  private newLink(name: string, kind: string | null, rest: Partial<FakeLink> = {}): FakeLink {
    const index = this.nextIndex++;
    const mac = rest.mac ?? `02:00:00:00:${((index >> 8) & 255).toString(16).padStart(2, '0')}:${(index & 255).toString(16).padStart(2, '0')}`;
    return { index, name, kind, up: false, mtu: 1500, master: null, alias: null, group: 0, hairpin: false, peer: null, ...rest, mac };
  }

  private addLink(netns: string, link: FakeLink): void {
    const links = this.ns(netns).links;
    if (links.has(link.name)) throw kernelError('EEXIST', 'RTM_NEWLINK', link.name);
    if (link.master !== null && this.link(link.master, netns || undefined).kind !== 'bridge') throw kernelError('EINVAL', 'RTM_NEWLINK', link.master);
    links.set(link.name, link);
  }

  /** Removes a link, its veth peer, its addresses and routes, and the ports enslaved to it. */
  private removeLink(netns: string, name: string): void {
    const n = this.ns(netns);
    const link = n.links.get(name);
    if (!link) return;
    n.links.delete(name);
    for (const a of [...n.addresses]) if (a.startsWith(`${name} `)) n.addresses.delete(a);
    n.routes = n.routes.filter((r) => r.dev !== name);
    for (const port of n.links.values()) if (port.master === name) port.master = null;
    if (link.peer) {
      const other = this.namespaces.get(link.peer.netns);
      const peer = [...(other?.links.values() ?? [])].find((l) => l.index === link.peer!.index);
      if (peer) this.removeLink(link.peer.netns, peer.name);
    }
  }

  private info(link: FakeLink): LinkInfo {
    const zero = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 };
    const { index, name, kind, up, mtu, mac, master, alias, group } = link;
    return {
      index,
      name,
      kind,
      flags: up ? 1 : 0,
      up,
      mtu,
      mac,
      master,
      masterIndex: 0,
      parentIndex: link.peer?.index ?? 0,
      operstate: up ? 'up' : 'down',
      alias,
      group,
      stats: zero,
    };
  }

  /** A new interface's IPv6, turned on (linkAdd's `ipv6`): its disable_ipv6 sysctl. */
  private ipv6On(netns: string, name: string): void {
    this.ns(netns).sysctls.set(`net/ipv6/conf/${name}/disable_ipv6`, '0');
  }

  /** The operations, run directly: what happens to the kernel behind the controller's back. */
  get handlersForTests(): Handlers {
    return this.handlers;
  }

  private readonly handlers: Handlers = {
    netnsCreate: ({ dir, name, sysctls, resolverSockets }) => {
      const key = path.join(dir, name);
      if (this.namespaces.has(key)) throw kernelError('EEXIST', 'open', key);
      mkdirSync(dir, { recursive: true });
      closeSync(openSync(key, 'wx'));
      const n = emptyNamespace();
      // The resolver's sockets are opened on lo, so it comes up first; the sockets are the addon's.
      n.links.set('lo', this.newLink('lo', null, { up: resolverSockets !== undefined }));
      for (const [k, v] of Object.entries(sysctls ?? {})) n.sysctls.set(k, v);
      this.namespaces.set(key, n);
      return key;
    },
    netnsDelete: ({ path: key }) => {
      const n = this.ns(key);
      for (const name of [...n.links.keys()]) this.removeLink(key, name);
      this.namespaces.delete(key);
      rmSync(key, { force: true });
    },
    netnsInfo: ({ path: key }) => {
      if (!this.namespaces.has(key)) throw kernelError('ENOENT', 'open', key);
      return { isNetns: true, isHost: false, inode: 1, dev: 1 };
    },
    linkAdd: ({ link, netns }) => {
      const where = link.netns ?? netns ?? HOST;
      const common = { mtu: link.mtu ?? 1500, mac: link.mac, up: link.up ?? false, master: link.master ?? null, group: link.linkGroup ?? 0 };
      if (link.kind === 'bridge') return this.addLink(where, this.newLink(link.name, 'bridge', common));
      if (link.kind === 'macvlan') {
        // The parent is looked up where the request is sent (the host), the link made in its namespace.
        if (!this.ns(netns).links.has(link.parent)) throw kernelError('ENODEV', 'RTM_GETLINK', link.parent);
        this.addLink(where, this.newLink(link.name, 'macvlan', common));
        if (link.ipv6) this.ipv6On(where, link.name);
        return;
      }
      if (link.kind !== 'veth') throw kernelError('EOPNOTSUPP', 'RTM_NEWLINK', `${link.name} (the fake kernel has bridges, veths and macvlans only)`);
      const peerNs = link.peer.netns ?? where;
      const end = this.newLink(link.name, 'veth', common);
      const peer = this.newLink(link.peer.name, 'veth', { mtu: link.peer.mtu ?? 1500, mac: link.peer.mac });
      if (this.ns(peerNs).links.has(peer.name)) throw kernelError('EEXIST', 'RTM_NEWLINK', peer.name);
      end.peer = { netns: peerNs, index: peer.index };
      peer.peer = { netns: where, index: end.index };
      this.addLink(where, end);
      this.addLink(peerNs, peer);
      if (link.ipv6) this.ipv6On(where, end.name);
      if (link.peer.ipv6) this.ipv6On(peerNs, peer.name);
    },
    linkDelete: ({ name, netns }) => {
      this.link(name, netns);
      this.removeLink(netns ?? HOST, name);
    },
    linkDeleteGroup: ({ names, netns }) => {
      const gone = names.filter((name) => !this.ns(netns).links.has(name));
      for (const name of names) this.removeLink(netns ?? HOST, name);
      return gone;
    },
    linkSet: ({ name, change, netns }) => {
      const link = this.link(name, netns);
      const from = netns ?? HOST;
      if (change.master) this.link(change.master, netns);
      // The kernel takes a port's settings from its bridge as it is before the change.
      if (change.hairpin !== undefined && !link.master) throw kernelError('EOPNOTSUPP', 'RTM_NEWLINK', name);
      if (change.newName !== undefined) {
        if (this.ns(from).links.has(change.newName)) throw kernelError('EEXIST', 'RTM_NEWLINK', change.newName);
        this.ns(from).links.delete(name);
        link.name = change.newName;
        this.ns(from).links.set(link.name, link);
      }
      if (change.moveTo !== undefined) {
        this.ns(change.moveTo);
        this.ns(from).links.delete(link.name);
        this.addLink(change.moveTo, link);
      }
      Object.assign(link, {
        up: change.up ?? link.up,
        mtu: change.mtu ?? link.mtu,
        mac: change.mac ?? link.mac,
        master: change.master === undefined ? link.master : change.master,
        alias: change.alias === undefined ? link.alias : change.alias || null,
        group: change.group ?? link.group,
        hairpin: change.hairpin ?? link.hairpin,
      });
    },
    linkGet: ({ name, netns }) => this.info(this.link(name, netns)),
    linkList: ({ netns }) => [...this.ns(netns).links.values()].map((l) => this.info(l)),
    addressAdd: ({ name, address, netns }) => {
      this.link(name, netns);
      const key = `${name} ${address}`;
      if (this.ns(netns).addresses.has(key)) throw kernelError('EEXIST', 'RTM_NEWADDR', address);
      this.ns(netns).addresses.add(key);
    },
    addressDelete: ({ name, address, netns }) => {
      if (!this.ns(netns).addresses.delete(`${name} ${address}`)) throw kernelError('EADDRNOTAVAIL', 'RTM_DELADDR', address);
    },
    addressList: ({ netns, name, family }) =>
      [...this.ns(netns).addresses]
        .map((a) => a.split(' '))
        .filter(([ifname]) => name === undefined || ifname === name)
        .map(([ifname, cidr]) => {
          const [address, prefix] = cidr.split('/');
          return {
            ifname,
            index: this.link(ifname, netns).index,
            family: address.includes(':') ? 6 : 4,
            address,
            prefixLength: Number(prefix),
            scope: address.startsWith('fe80:') ? 'link' : 'global',
          };
        })
        .filter((a) => family === undefined || a.family === family),
    routeAdd: ({ route: r, netns }) => {
      const n = this.ns(netns);
      if (r.dev) this.link(r.dev, netns);
      if (n.routes.some((x) => x.destination === r.destination && x.table === (r.table ?? 254))) throw kernelError('EEXIST', 'RTM_NEWROUTE', r.destination);
      n.routes.push(route(r.destination, r.gateway ?? null, r.dev ?? null, r.table));
    },
    routeReplace: ({ route: r, netns }) => {
      const n = this.ns(netns);
      if (r.dev) this.link(r.dev, netns);
      n.routes = n.routes.filter((x) => !(x.destination === r.destination && x.table === (r.table ?? 254)));
      n.routes.push(route(r.destination, r.gateway ?? null, r.dev ?? null, r.table));
    },
    routeDelete: ({ route: r, netns }) => {
      const n = this.ns(netns);
      const before = n.routes.length;
      n.routes = n.routes.filter((x) => !(x.destination === r.destination && x.table === (r.table ?? 254)));
      if (n.routes.length === before) throw kernelError('ESRCH', 'RTM_DELROUTE', r.destination);
    },
    routeList: ({ netns, family }) => this.ns(netns).routes.filter((r) => family === undefined || r.family === family),
    sysctlGet: ({ key, netns }) => this.ns(netns).sysctls.get(key) ?? '0',
    sysctlSet: ({ key, value, netns }) => {
      const n = this.ns(netns);
      n.sysctls.set(key, value);
      // As the kernel does: IPv6 all.forwarding is written to default's and every interface's.
      if (key !== 'net/ipv6/conf/all/forwarding') return;
      for (const name of ['default', ...n.links.keys()]) n.sysctls.set(`net/ipv6/conf/${name}/forwarding`, value);
    },
    lockFile: ({ path: file, owner }) => {
      if (this.locks.has(file)) return { fd: null, holder: 'fake' };
      writeFileSync(file, owner);
      const fd = this.nextFd++;
      this.locks.set(file, fd);
      return { fd, holder: owner };
    },
    unlockFile: ({ fd }) => {
      for (const [file, held] of this.locks) if (held === fd) this.locks.delete(file);
    },
    portReserve: ({ address, protocol, port, portEnd }) => {
      const last = portEnd ?? port;
      const candidates = port === 0 ? Array.from({ length: 1000 }, (_, i) => 32768 + i) : Array.from({ length: last - port + 1 }, (_, i) => port + i);
      // Ports by family, whatever the address (as netstat's tcp and tcp6): "::" does not hold 0.0.0.0's.
      const key = (p: number) => `${protocol}${address.includes(':') ? '6' : ''} ${p}`;
      const free = candidates.find((p) => !this.ports.has(key(p)));
      if (free === undefined) throw kernelError('EADDRINUSE', 'bind', `${protocol}/${port}`);
      const fd = this.nextFd++;
      this.ports.set(key(free), fd);
      return { fd, port: free };
    },
    portRelease: ({ fd }) => {
      for (const [key, held] of this.ports) if (held === fd) this.ports.delete(key);
      this.dnsSockets.delete(fd);
    },
    removePaths: ({ base, paths }) => {
      for (const p of paths) {
        if (!p.endsWith('/')) rmSync(path.join(base, p), { force: true });
        else if (existsSync(path.join(base, p)) && readdirSync(path.join(base, p)).length === 0) rmdirSync(path.join(base, p));
      }
    },
    writeFiles: ({ base, files, atomic, durable }) => {
      mkdirSync(base, { recursive: true, mode: atomic || durable ? 0o700 : 0o755 });
      for (const file of files) {
        mkdirSync(path.dirname(path.join(base, file.path)), { recursive: true });
        writeFileSync(path.join(base, file.path), file.content, { mode: file.mode ?? 0o644 });
      }
    },
    // The real ones follow no symlink beneath the base; these plain fs ones do, which no unit test relies on.
    listFolder: ({ base, path: folder }) => (existsSync(path.join(base, folder ?? '')) ? readdirSync(path.join(base, folder ?? '')) : []),
    readFiles: ({ base, paths }) =>
      paths.map((p) => {
        const file = path.join(base, p);
        if (!existsSync(file)) return { error: 'open: No such file or directory', errno: constants.errno.ENOENT };
        if (!lstatSync(file).isFile()) return { error: 'not a regular file', errno: constants.errno.EINVAL };
        return { content: readFileSync(file, 'utf8') };
      }),
    nftTransaction: ({ commands, netns }) => {
      // All or nothing, as the kernel's transactions are: the commands run on a copy.
      const n = this.ns(netns);
      const tables = new Set(n.nftTables);
      const elements = new Map([...n.nftElements].map(([set, e]) => [set, new Set(e)]));
      for (const c of commands) {
        const table = `${c.family} ${c.table}`;
        if (c.cmd === 'addTable') tables.add(table);
        else if (c.cmd === 'deleteTable') {
          if (!tables.delete(table) && !c.ifExists) throw kernelError('ENOENT', 'NFT_MSG_DELTABLE', c.table);
          for (const set of [...elements.keys()]) if (set.startsWith(`${table} `)) elements.delete(set);
        } else if (!tables.has(table)) throw kernelError('ENOENT', `nft ${c.cmd}`, c.table);
        else if (c.cmd === 'addElements' || c.cmd === 'deleteElements') {
          const set = elements.get(`${table} ${c.set}`) ?? new Set<string>();
          elements.set(`${table} ${c.set}`, set);
          for (const e of c.elements) {
            if (c.cmd === 'addElements') set.add(JSON.stringify(e));
            else set.delete(JSON.stringify(e));
          }
        } else if (c.cmd === 'flushSet') elements.delete(`${table} ${c.set}`);
      }
      n.nftTables = tables;
      n.nftElements = elements;
    },
    nftListTables: ({ netns }) => [...this.ns(netns).nftTables].map((t, handle) => ({ family: t.split(' ')[0], name: t.split(' ')[1], handle }) as never),
    nftListChains: () => [],
    nftListRules: () => [],
    nftListSets: () => [],
    nftListElements: () => [],
    conntrackDelete: () => 0,
    dnsSockets: ({ netns, udpPort, tcpPort, redirectTable }) => {
      const n = this.ns(netns);
      // The redirect's table (its rules, for the ports below, are not modelled).
      if (redirectTable) n.nftTables.add(`inet ${redirectTable}`);
      const open = () => {
        const fd = this.nextFd++;
        this.dnsSockets.set(fd, netns ?? HOST);
        return fd;
      };
      // A port that is taken there gets the kernel's pick instead, as bind() would.
      const port = (asked: number | undefined, picked: number) => (asked && !this.takenPorts.has(asked) ? asked : picked);
      return { udp: open(), tcp: open(), netns: open(), udpPort: port(udpPort, 40000), tcpPort: port(tcpPort, 40001) };
    },
  };
}

function route(destination: string, gateway: string | null, dev: string | null, table = 254): RouteInfo {
  const family = (gateway ?? destination).includes(':') ? 6 : 4;
  return { family, destination, gateway, dev, metric: 0, table, scope: gateway ? 'universe' : 'link', protocol: 'boot', type: 'unicast' };
}
