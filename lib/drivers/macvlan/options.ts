// The macvlan driver's options: Docker's (`docker network create -d macvlan -o parent=eth1 -o
// macvlan_mode=bridge`), and the MTU option the other drivers take.
import { CnmError, invalidArgument } from '../../errors';
import { validateIfname } from '../../native/validate';
import { isOneOf, MACVLAN_MODES, orList } from '../../native/vocabulary';
import type { MacvlanMode } from '../../native';
import type { DriverOptions } from '../api';
import { MTU, parseMtu } from '../common';

export const PARENT = 'parent';
export const MACVLAN_MODE = 'macvlan_mode';

const KNOWN = new Set([PARENT, MACVLAN_MODE, MTU]);

export interface MacvlanConfig {
  parent: string;
  mode: MacvlanMode;
  mtu?: number;
}

/**
 * Reads and checks the options of network `name`. The parent is required: Docker makes a dummy
 * link when there is none, which needs the kernel's dummy driver; cnm-ts does not (see README).
 */
export function parseMacvlanOptions(options: DriverOptions, name: string): MacvlanConfig {
  for (const [key, value] of Object.entries(options)) {
    if (typeof value !== 'string') throw invalidArgument(`driver option ${key} must be a string, got ${typeof value}`);
    if (!KNOWN.has(key)) throw invalidArgument(`macvlan driver option ${key} is not supported (${[...KNOWN].join(', ')} are)`);
  }
  const mode = options[MACVLAN_MODE] || 'bridge';
  if (!isOneOf(MACVLAN_MODES, mode)) {
    throw invalidArgument(`requested macvlan mode ${JSON.stringify(mode)} is not valid: ${orList(MACVLAN_MODES)} ('bridge' is the default)`);
  }
  const parent = options[PARENT];
  if (!parent) {
    throw new CnmError(
      'INVALID_ARGUMENT',
      `macvlan network ${name} needs a parent interface (-o parent=IFACE): without one Docker makes a dummy link, ` +
        'which needs the kernel\'s dummy network driver (CONFIG_DUMMY, module "dummy"); cnm-ts does not make one',
    );
  }
  validateIfname(parent, PARENT);
  if (parent === 'lo') throw invalidArgument('loopback interface is not a valid macvlan parent link');
  return { parent, mode, mtu: parseMtu(options) };
}
