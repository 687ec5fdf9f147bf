import type { Family } from '../util/ip';
import type { NativeErrorInfo } from './netlink-error';
import type { ADDR_GEN_MODES, LINK_KINDS, MACVLAN_MODES, PORT_PROTOCOLS, ROUTE_SCOPES } from './vocabulary';
import type { ConntrackFilter, NftChainInfo, NftCommand, NftElementInfo, NftFamily, NftRuleInfo, NftSetInfo, NftTableInfo } from './nft-types';

export * from './nft-types';

// The shapes that cross the native boundary: one entry per operation the addon's `execute` takes,
// and the values it returns. They mirror the op structs of native/kernel/ops.h, which
// native/bindings/convert.cc reads.

/** Options every namespace-scoped operation takes. */
export interface InNamespace {
  /** Path of the network namespace to act in (`/run/netns/x`); absent: the caller's own. */
  netns?: string;
}

/** The kinds of link linkAdd makes: bridge, veth, macvlan, vxlan. */
export type LinkKind = (typeof LINK_KINDS)[number];
/** A macvlan mode (`ip link ... type macvlan mode MODE`). */
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

/** A veth pair's other end. */
export interface VethPeer {
  name: string;
  /** Create the peer directly in this namespace (no move, no collision in the host). */
  netns?: string;
  mtu?: number;
  mac?: string;
  /** IPv6 on for the peer in its namespace (see LinkCommon.ipv6). */
  ipv6?: boolean;
}

interface LinkCommon {
  name: string;
  mtu?: number;
  mac?: string;
  /** Bring the link up in the same request. */
  up?: boolean;
  /** Enslave to this bridge in the same request. */
  master?: string;
  /** Create the link directly in this namespace. */
  netns?: string;
  /**
   * Its link group (IFLA_GROUP, 1 to 4294967295), set in the create request: unlike an alias (which
   * the kernel ignores there), a mark that no crash can separate from the link's creation.
   */
  linkGroup?: number;
  /**
   * IPv6 on for the link in its namespace, one whose new interfaces have it off
   * (`net.ipv6.conf.default.disable_ipv6=1`): `disable_ipv6=0` for the link, before it is up.
   */
  ipv6?: boolean;
}

/** A Linux bridge to create (`ip link add NAME type bridge`). */
export interface BridgeSpec extends LinkCommon {
  kind: 'bridge';
}
/** A veth pair to create (`ip link add NAME type veth peer name PEER`). */
export interface VethSpec extends LinkCommon {
  kind: 'veth';
  peer: VethPeer;
}
/** A macvlan link on a parent interface (`ip link add NAME link PARENT type macvlan mode MODE`). */
export interface MacvlanSpec extends LinkCommon {
  kind: 'macvlan';
  parent: string;
  mode?: MacvlanMode;
}
/** A VXLAN link to create (`ip link add NAME type vxlan id VNI ...`). */
export interface VxlanSpec extends LinkCommon {
  kind: 'vxlan';
  vni: number;
  parent?: string;
  /** UDP destination port (default: the kernel's, 8472; IANA's is 4789). */
  port?: number;
  group?: string;
  remote?: string;
  local?: string;
  learning?: boolean;
}
/** A link to create with linkAdd, by its `kind`. */
export type LinkSpec = BridgeSpec | VethSpec | MacvlanSpec | VxlanSpec;

/** Changes to an existing link; absent fields stay as they are. */
export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  newName?: string;
  /** A bridge to enslave to, or null to release from its master. */
  master?: string | null;
  /** Move the link into this namespace (path). */
  moveTo?: string;
  /**
   * How the link makes its IPv6 link-local address. 'none' (set before `up` when both are given)
   * keeps a new bridge port from sending DAD, router solicitations and MLD reports.
   */
  addrGenMode?: (typeof ADDR_GEN_MODES)[number];
  /** The link's alias (`ip link set NAME alias TEXT`); '' removes it. */
  alias?: string;
  /** Its link group (`ip link set NAME group N`, IFLA_GROUP). */
  group?: number;
  /**
   * Hairpin mode of a bridge port (`ip link set NAME type bridge_slave hairpin on`): frames may
   * leave by the port they came in on. The link must be on its bridge already (not in the same change).
   */
  hairpin?: boolean;
}

/** A link's packet and byte counters (IFLA_STATS64), as `ip -s link show` prints them. */
export interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

/** A link as the kernel reports it (RTM_NEWLINK), as `ip -j -d link show` lists it. */
export interface LinkInfo {
  index: number;
  name: string;
  /** 'bridge', 'veth', ...; null for devices without a kind (lo, NICs). */
  kind: string | null;
  /** IFF_* flags. */
  flags: number;
  up: boolean;
  mtu: number;
  mac: string;
  master: string | null;
  masterIndex: number;
  /** IFLA_LINK: a veth's peer index, a macvlan's lower device (0 if none). */
  parentIndex: number;
  operstate: string;
  /** IFLA_IFALIAS, or null when the link has none. */
  alias: string | null;
  /** IFLA_GROUP (0: the default group). */
  group: number;
  stats: LinkStats;
}

export type { Family };

/** One address of a link, as `ip -j addr show` lists it. */
export interface AddressInfo {
  ifname: string;
  index: number;
  family: Family;
  address: string;
  prefixLength: number;
  scope: string;
}

/** A route to add, replace or delete (`ip route add DEST via GATEWAY dev DEV ...`). */
export interface RouteSpec {
  /** 'default' or a CIDR. */
  destination: string;
  /** Needed only for a 'default' route without a gateway. */
  family?: Family;
  gateway?: string;
  dev?: string;
  metric?: number;
  /** Routing table id; default: main (254). */
  table?: number;
  scope?: (typeof ROUTE_SCOPES)[number];
}

/** One route as the kernel reports it (RTM_NEWROUTE), as `ip -j route show` lists it. */
export interface RouteInfo {
  family: Family;
  destination: string;
  gateway: string | null;
  dev: string | null;
  metric: number;
  table: number;
  scope: string;
  protocol: string;
  type: string;
}

/** What a path is: a network namespace file or not, and whether it is the caller's own namespace. */
export interface NetnsInfo {
  /** The path is a network namespace file. */
  isNetns: boolean;
  /** ... and it is the caller's own (host) namespace. */
  isHost: boolean;
  inode: number;
  dev: number;
}

/** One operation of a batch. `netns` aims it at a namespace by path. */
export type NativeOp =
  /**
   * `resolverSockets`: also brings lo up and opens, while inside the new namespace, the nf_tables
   * socket and an embedded DNS server's sockets on those ports (0 or absent: the kernel picks); the
   * next batch in that namespace takes them (an `nftTransaction`, a `dnsSockets` op asking for the
   * same ports) without a helper thread entering it.
   */
  | { op: 'netnsCreate'; dir: string; name: string; sysctls?: Record<string, string>; resolverSockets?: DnsPorts }
  | { op: 'netnsDelete'; path: string }
  | { op: 'netnsInfo'; path: string }
  | ({ op: 'linkAdd'; link: LinkSpec } & InNamespace)
  | ({ op: 'linkDelete'; name: string } & InNamespace)
  /** Several links in one request (one RCU grace period for all), through a link group of their own. */
  | ({ op: 'linkDeleteGroup'; names: string[]; group?: number } & InNamespace)
  | ({ op: 'linkSet'; name: string; change: LinkChange } & InNamespace)
  | ({ op: 'linkGet'; name: string } & InNamespace)
  | ({ op: 'linkList' } & InNamespace)
  /** `nodad`: an IPv6 address skips duplicate address detection (`ip addr add ... nodad`), usable at once. */
  | ({ op: 'addressAdd'; name: string; address: string; nodad?: boolean } & InNamespace)
  | ({ op: 'addressDelete'; name: string; address: string } & InNamespace)
  | ({ op: 'addressList'; name?: string; family?: Family } & InNamespace)
  | ({ op: 'routeAdd'; route: RouteSpec } & InNamespace)
  | ({ op: 'routeReplace'; route: RouteSpec } & InNamespace)
  | ({ op: 'routeDelete'; route: RouteSpec } & InNamespace)
  | ({ op: 'routeList'; family?: Family; table?: number } & InNamespace)
  | ({ op: 'sysctlGet'; key: string } & InNamespace)
  | ({ op: 'sysctlSet'; key: string; value: string } & InNamespace)
  | { op: 'lockFile'; path: string; owner: string }
  | { op: 'unlockFile'; fd: number }
  | { op: 'portReserve'; address: string; protocol: PortProtocol; port: number; portEnd?: number }
  | { op: 'portRelease'; fd: number }
  /** `paths` are relative to `base`; nothing beneath `base` is reached through a symlink. */
  | { op: 'removePaths'; base: string; paths: string[]; durable?: boolean }
  /** `atomic`: through `<path>.tmp` and a rename; `durable`: that, with fsync of file and folder. */
  | { op: 'writeFiles'; base: string; files: FileToWrite[]; atomic?: boolean; durable?: boolean }
  /** The names in the folder `path` beneath `base` (absent: `base` itself); [] if it is missing. */
  | { op: 'listFolder'; base: string; path?: string }
  /** Each regular file at `paths` beneath `base`: its content, or why it could not be read. */
  | { op: 'readFiles'; base: string; paths: string[] }
  | ({ op: 'nftTransaction'; commands: NftCommand[] } & InNamespace)
  | ({ op: 'nftListTables'; family?: NftFamily } & InNamespace)
  | ({ op: 'nftListChains'; family: NftFamily; table: string } & InNamespace)
  | ({ op: 'nftListRules'; family: NftFamily; table: string; chain?: string } & InNamespace)
  | ({ op: 'nftListSets'; family: NftFamily; table: string } & InNamespace)
  | ({ op: 'nftListElements'; family: NftFamily; table: string; set: string } & InNamespace)
  /** Entries matching any of the filters, in one sweep of the table. */
  | ({ op: 'conntrackDelete'; filters: ConntrackFilter[] } & InNamespace)
  /**
   * Opens an embedded DNS server's sockets inside the namespace, UDP and TCP bound to 127.0.0.11
   * on ports the kernel picks, and the namespace's file (where the queries it forwards get their
   * sockets). All of them or none. Hand them to the DNS pump (`Kernel.dns`).
   */
  /**
   * On those ports if they are free there, else on ports the kernel picks. With `redirectTable`
   * (only in a `netns`), the inet table of that name there then sends 127.0.0.11:53 to the ports
   * they got, UDP and TCP, by an output nat chain (made, or an earlier table's rules replaced).
   */
  | ({ op: 'dnsSockets'; redirectTable?: string } & DnsPorts & InNamespace);

/** A file for writeFiles. */
export interface FileToWrite {
  /** Relative to the operation's base: no empty, '.' or '..' components. */
  path: string;
  content: string;
  /** Permission bits; default 0o644. */
  mode?: number;
}

/** One file of readFiles: its content, or why it was not read (missing, a symlink, not a regular file...). */
export type FileRead = { content: string } | { error: string; errno: number };

/** What each operation returns, by its `op`. */
export interface NativeResultOf {
  netnsCreate: string;
  netnsDelete: undefined;
  netnsInfo: NetnsInfo;
  linkAdd: undefined;
  linkDelete: undefined;
  /** The names that were already gone. */
  linkDeleteGroup: string[];
  linkSet: undefined;
  linkGet: LinkInfo;
  linkList: LinkInfo[];
  addressAdd: undefined;
  addressDelete: undefined;
  addressList: AddressInfo[];
  routeAdd: undefined;
  routeReplace: undefined;
  routeDelete: undefined;
  routeList: RouteInfo[];
  sysctlGet: string;
  sysctlSet: undefined;
  lockFile: FileLock;
  unlockFile: undefined;
  portReserve: PortReservation;
  portRelease: undefined;
  removePaths: undefined;
  writeFiles: undefined;
  listFolder: string[];
  readFiles: FileRead[];
  nftTransaction: undefined;
  nftListTables: NftTableInfo[];
  nftListChains: NftChainInfo[];
  nftListRules: NftRuleInfo[];
  nftListSets: NftSetInfo[];
  nftListElements: NftElementInfo[];
  /** How many entries were deleted. */
  conntrackDelete: number;
  dnsSockets: DnsSockets;
}

/** The ports to open an embedded DNS server's sockets on; absent or 0: the kernel picks. */
export interface DnsPorts {
  udpPort?: number;
  tcpPort?: number;
}

/** An embedded DNS server's sockets (descriptors owned by the caller until attached to the pump). */
export interface DnsSockets {
  udp: number;
  tcp: number;
  /** The namespace's file. */
  netns: number;
  udpPort: number;
  tcpPort: number;
}

/**
 * How a DNS message travels: the numbers the pump uses (native/kernel/dns-pump.h). A client's
 * query (udp, tcp) and the reply to it; a query forwarded to an upstream server and its outcome,
 * over UDP or TCP, from the sandbox's namespace or the host's.
 */
export const DNS_CHANNEL = { udp: 0, tcp: 1, forward: 2, hostForward: 3, forwardTcp: 4, hostForwardTcp: 5 } as const;
/** A DnsMessage's channel: 0 a UDP query, 1 a TCP query, 2-5 forwarded queries (see DNS_CHANNEL). */
export type DnsChannelNumber = (typeof DNS_CHANNEL)[keyof typeof DNS_CHANNEL];

/** One DNS message received by, or given to, the pump. */
export interface DnsMessage {
  /** The resolver it belongs to. */
  id: number;
  channel: DnsChannelNumber;
  /** tcp: the client's connection; forwarded queries: the exchange, numbered by the sender from 1, unique per resolver. */
  conn: number;
  /** udp: the client; forwarded queries: the server. A sockaddr_in / sockaddr_in6. */
  peer: Buffer;
  /**
   * The message, without TCP's length prefix. A forwarded query gets exactly one outcome back: the
   * server's reply, or an empty one when it failed (no reply within 4 s, refused, unreachable).
   */
  data: Buffer;
  /**
   * A UDP reply: the query it answers, when every query with the same bytes (its id aside) gets
   * this reply until the names change (DnsPump.forget()); the addon then answers them itself.
   */
  query?: Buffer;
}

/** A transport protocol of a published or reserved port: tcp, udp or sctp. */
export type PortProtocol = (typeof PORT_PROTOCOLS)[number];

/** A host port held by a bound socket (`fd`) until portRelease(fd) or the end of the process. */
export interface PortReservation {
  fd: number;
  /** The port bound: the first free one of the range, or the kernel's pick for port 0. */
  port: number;
}

/** An exclusive lock on a file: `fd` holds it, or is null when another holder has it. */
export interface FileLock {
  fd: number | null;
  /** What the holder wrote into the file (its owner string), when the lock was taken. */
  holder: string;
}

/** The result of any operation of a batch (see NativeResultOf for each one's). */
export type NativeResult = NativeResultOf[NativeOp['op']];

/** The addon's exports (native/bindings/addon.cc). */
export interface NativeBinding {
  /**
   * Runs the ops in order on a worker thread and resolves with one result per op. Stops at the
   * first failure and rejects with the error the factory built (its `index` names the op).
   */
  execute(ops: NativeOp[]): Promise<NativeResult[]>;
  /**
   * Resolves once no link of the host namespace has any of the names (a name already gone counts
   * as gone); one listener for link events serves every pending call. Rejects with the factory's
   * error (ETIMEDOUT naming the links left) after `timeoutMs`.
   */
  waitLinksGone(names: string[], timeoutMs: number): Promise<void>;
  /** Hands over the function that turns a failure report into a JS error. */
  setErrorFactory(factory: (info: NativeErrorInfo) => Error): void;
  /** The C library's symbolic name and message of every errno it knows (empty without glibc >= 2.32). */
  errnoNames(): { errno: number; code: string; description: string }[];
  /** Closes the netlink sockets kept open in namespaces made by recent batches (see submit.ts). */
  dropKeptSockets(): void;
  /** The calling thread's effective capability set (capget), bit n for capability n. */
  effectiveCapabilities(): bigint;
  /** Starts the DNS pump's thread; `receive` gets what arrives, in batches. */
  dnsStart(receive: (messages: DnsMessage[]) => void): void;
  /** Stops the DNS pump's thread and closes every socket handed to it. */
  dnsStop(): void;
  /** Hands a resolver's sockets and namespace (from a `dnsSockets` op) to the pump, which owns them from now on. */
  dnsAttach(id: number, udp: number, tcp: number, netns: number): void;
  /** Closes a resolver's sockets. */
  dnsDetach(id: number): void;
  /** Queues messages for the pump to send. */
  dnsSend(messages: DnsMessage[]): void;
  /** The names changed: the pump gives none of the replies it kept for repeated queries again. */
  dnsForget(): void;
}
