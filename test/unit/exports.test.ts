// The public surface, entry point by entry point: the names a consumer can import at run time and
// as types, read from what ships (the package's "exports", dist/*.js and dist/*.d.ts). Changing
// the surface means changing these lists: a deliberate diff, never a side effect.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.resolve(__dirname, '..', '..');

const SURFACE: Record<string, { values: string[]; types: string[] }> = {
  'cnm-ts': {
    values: [
      'ALLOC_SERIAL',
      'BridgeDriver',
      'CnmError',
      'DEFAULT_GLOBAL_POOLS',
      'DEFAULT_LOCAL_POOLS',
      'DefaultIpam',
      'Endpoint',
      'GATEWAY_ADDRESS_TYPE',
      'GLOBAL_DEFAULT_ADDRESS_SPACE',
      'HostDriver',
      'LOCAL_DEFAULT_ADDRESS_SPACE',
      'MacvlanDriver',
      'NULL_ADDRESS_SPACE',
      'NetlinkError',
      'Network',
      'NetworkController',
      'NullDriver',
      'NullIpam',
      'REQUEST_ADDRESS_TYPE',
      'Sandbox',
    ],
    types: [
      'AllocatedPool',
      'BoundPort',
      'BuiltinIpamName',
      'BuiltinNetworkType',
      'CnmErrorCode',
      'ControllerEvents',
      'ControllerOptions',
      'DefaultIpamOptions',
      'DnsChannelNumber',
      'DnsMessage',
      'DnsPump',
      'DnsSockets',
      'DockerIpamConfig',
      'DockerNetworkEndpoint',
      'Driver',
      'DriverOptions',
      'EndpointInfo',
      'EndpointInfoFields',
      'EndpointOptions',
      'EndpointPorts',
      'ExposedPort',
      'ExternalConnectivity',
      'InterfaceInfo',
      'Ipam',
      'IpamCapabilities',
      'IpamData',
      'IpamName',
      'IpamOptions',
      'IpamPoolConfig',
      'IpamState',
      'JoinInfo',
      'JoinOptions',
      'JoinSandboxOps',
      'JoinTarget',
      'Kernel',
      'LinkStats',
      'MaybePromise',
      'NetworkCreateInfo',
      'NetworkInfo',
      'NetworkInspect',
      'NetworkOptions',
      'NetworkType',
      'PoolRequest',
      'PoolResult',
      'PoolState',
      'PortBinding',
      'PredefinedPool',
      'PredefinedSpec',
      'RestoreContext',
      'RestoreReport',
      'RestoreResult',
      'RestoreWarning',
      'RestoredEndpoint',
      'RestoredNetwork',
      'SandboxDnsConfig',
      'SandboxMode',
      'SandboxOptions',
      'StateWarning',
      'UnpublishedPorts',
    ],
  },
  'cnm-ts/kernel': {
    values: [
      'LINK_WAIT_TIMEOUT_MS',
      'NetlinkError',
      'addressAdd',
      'addressDelete',
      'addressList',
      'batch',
      'conntrackDelete',
      'containerSetupOps',
      'linkAdd',
      'linkDelete',
      'linkDeleteGroup',
      'linkGet',
      'linkList',
      'linkSet',
      'listFolder',
      'lockFile',
      'nativeKernel',
      'netnsCreate',
      'netnsDelete',
      'netnsInfo',
      'nftExpr',
      'nftListChains',
      'nftListElements',
      'nftListRules',
      'nftListSets',
      'nftListTables',
      'nftPrefixElement',
      'nftTransaction',
      'nftValue',
      'portRelease',
      'portReserve',
      'readFiles',
      'removePaths',
      'routeAdd',
      'routeDelete',
      'routeList',
      'routeReplace',
      'setupContainer',
      'sysctlGet',
      'sysctlSet',
      'teardownContainer',
      'unlockFile',
      'waitLinksGone',
      'writeFiles',
    ],
    types: [
      'AddressInfo',
      'Backlog',
      'BridgeSpec',
      'ConntrackFilter',
      'ContainerSetup',
      'DnsChannelNumber',
      'DnsMessage',
      'DnsPorts',
      'DnsSockets',
      'Family',
      'FileLock',
      'FileRead',
      'FileToWrite',
      'InNamespace',
      'Kernel',
      'LinkChange',
      'LinkInfo',
      'LinkKind',
      'LinkSpec',
      'LinkStats',
      'MacvlanMode',
      'MacvlanSpec',
      'NativeErrorInfo',
      'NativeOp',
      'NativeResult',
      'NativeResultOf',
      'NetnsInfo',
      'NftBytes',
      'NftChainInfo',
      'NftChainType',
      'NftCmpOp',
      'NftCommand',
      'NftCtKey',
      'NftCtState',
      'NftElement',
      'NftElementInfo',
      'NftExpr',
      'NftFamily',
      'NftHook',
      'NftMetaKey',
      'NftNatFlag',
      'NftPayloadBase',
      'NftPolicy',
      'NftProtocol',
      'NftRegister',
      'NftRuleInfo',
      'NftSetInfo',
      'NftSetType',
      'NftTableInfo',
      'NftVerdict',
      'PortProtocol',
      'PortReservation',
      'RouteInfo',
      'RouteSpec',
      'VethPeer',
      'VethSpec',
      'VxlanSpec',
    ],
  },
  'cnm-ts/testing': {
    values: ['clearFault', 'failOperation', 'faultPending'],
    types: [],
  },
};

type Target = { types: string; default: string };
const exportsField: Record<string, Target | string> = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).exports;
const targetOf = (entry: string) => exportsField[entry.replace(/^cnm-ts/, '.')] as Target;

/** The names each declaration file exports, split into values and types only. */
function declaredExports(files: string[]): Map<string, { values: string[]; types: string[] }> {
  const program = ts.createProgram(files, { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, types: ['node'] });
  const checker = program.getTypeChecker();
  const result = new Map<string, { values: string[]; types: string[] }>();
  for (const file of files) {
    const values: string[] = [];
    const types: string[] = [];
    for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
    }
    result.set(file, { values: values.sort(), types: types.sort() });
  }
  return result;
}

describe('the public surface', () => {
  const entries = Object.keys(SURFACE);
  const declarationFile = (entry: string) => path.join(root, targetOf(entry).types);
  let declared: Map<string, { values: string[]; types: string[] }>;
  beforeAll(() => {
    declared = declaredExports(entries.map(declarationFile));
  });

  it('is these entry points', () => {
    expect(Object.keys(exportsField).filter((k) => k !== './package.json')).toEqual(['.', './kernel', './testing']);
  });

  it.each(entries)('%s exports these values at run time', (entry) => {
    const loaded: object = createRequire(__filename)(path.join(root, targetOf(entry).default));
    expect(Object.keys(loaded).sort()).toEqual(SURFACE[entry].values);
  });

  it.each(entries)('%s declares these values and types', (entry) => {
    expect(declared.get(declarationFile(entry))).toEqual(SURFACE[entry]);
  });
});
