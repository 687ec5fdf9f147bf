// Records are input, not truth: the shapes a sandbox record's paths must have, and the relative
// paths the file operations take beneath their base folder. No root, no kernel.
import { CnmError } from '../../lib';
import type { NativeOp } from '../../lib/kernel';
import { validateOp } from '../../lib/native/validate';
import type { SandboxRecord } from '../../lib/store/records';
import { StateLayout } from '../../lib/layout';
import { foreignSandboxRecord } from '../../lib/store/shapes';

const shape = new StateLayout(
  { stateDir: '/var/lib/cnm-ts', runDir: '/run/cnm-ts', netnsDir: '/run/netns', etcNetnsDir: '/etc/netns' },
  '0123abcd',
  '/run/cnm-ts/0123abcd',
);
const id = 'ab'.repeat(32);
const own = `cnm-0123abcd-${id.slice(0, 12)}`;

const record = (fields: Partial<SandboxRecord>): SandboxRecord => ({
  version: 1,
  kind: 'sandbox',
  id,
  containerId: 'c',
  mode: 'namespace',
  key: `/run/netns/${own}`,
  namespaceName: own,
  owned: true,
  config: {},
  labels: {},
  hostServers: [],
  attachments: [],
  ...fields,
});

describe('foreignSandboxRecord', () => {
  it.each<[string, Partial<SandboxRecord>]>([
    ['its own namespace', {}],
    [
      'a container-mode sandbox on a namespace of the same mark',
      { mode: 'container', key: '/run/netns/cnm-0123abcd-0000000000ff', namespaceName: 'cnm-0123abcd-0000000000ff' },
    ],
    ['a host-mode sandbox', { mode: 'host', key: '/proc/4242/ns/net', namespaceName: null, owned: false }],
  ])('accepts %s', (_what, fields) => {
    expect(foreignSandboxRecord(record(fields), shape)).toBeNull();
  });

  it.each<[string, Partial<SandboxRecord>, RegExp]>([
    ['a traversal key', { key: '/run/netns/../../etc/passwd' }, /key .* is not \/run\/netns\/cnm-/],
    ['a traversal namespace name', { namespaceName: '../../etc', key: '/run/netns/../../etc' }, /namespace "..\/..\/etc" is not one/],
    ["another sandbox id's name in namespace mode", { namespaceName: 'cnm-0123abcd-0000000000ff', key: '/run/netns/cnm-0123abcd-0000000000ff' }, /is not one/],
    [
      "another controller's mark",
      { mode: 'container', namespaceName: `cnm-ffffffff-${id.slice(0, 12)}`, key: `/run/netns/cnm-ffffffff-${id.slice(0, 12)}` },
      /is not one/,
    ],
    ['a foreign namespace', { namespaceName: 'foreign', key: '/run/netns/foreign' }, /is not one/],
    ['a namespace it does not own', { owned: false }, /is not one/],
    ["another process's namespace", { key: '/proc/4242/ns/net' }, /key "\/proc\/4242\/ns\/net" is not/],
    ['a host-mode key that is a file', { mode: 'host', key: '/etc/passwd', namespaceName: null, owned: false }, /host-mode key/],
    ['a host-mode sandbox naming a namespace', { mode: 'host', key: '/proc/1/ns/net', owned: false }, /host-mode key/],
    [
      'an interface name that is not ethN',
      {
        attachments: [
          {
            endpointId: id,
            ifname: 'eth0/..',
            priority: 0,
            order: 0,
            info: { ifname: null, gateway: null, gatewayIPv6: null, staticRoutes: [] },
            published: null,
          },
        ],
      },
      /interface name/,
    ],
  ])('refuses %s', (_what, fields, why) => {
    expect(foreignSandboxRecord(record(fields), shape)).toMatch(why);
  });
});

describe('file operations beneath a base folder', () => {
  const ops = (base: string, relative: string): NativeOp[] => [
    { op: 'removePaths', base, paths: [relative] },
    { op: 'writeFiles', base, files: [{ path: relative, content: '' }] },
  ];

  it.each(['hosts', 'sandboxes/abc/hosts', 'sandboxes/abc/'])('accepts %j', (relative) => {
    for (const op of ops('/var/lib/cnm-ts', relative)) expect(() => validateOp(op)).not.toThrow();
  });

  it.each(['', '/etc/hosts', '../hosts', 'a/../../hosts', 'a//b', './hosts', 'a/.', 'a\0b'])('refuses %j', (relative) => {
    for (const op of ops('/var/lib/cnm-ts', relative)) expect(() => validateOp(op)).toThrow(CnmError);
  });

  it('refuses a relative base', () => {
    for (const op of ops('var/lib', 'hosts')) expect(() => validateOp(op)).toThrow(/base folder must be an absolute path/);
  });
});
