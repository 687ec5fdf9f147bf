// Inside a sandbox's namespace, 127.0.0.11:53 is sent to the ports the resolver's sockets got (as
// Docker's DOCKER_OUTPUT chain does), so that port 53 stays free for the sandbox's own processes;
// conntrack turns the replies' source back into 127.0.0.11:53.
import { nftExpr as x, type NftCommand } from '../native';

/** The embedded server's address in every sandbox. */
export const RESOLVER_ADDRESS = '127.0.0.11';

/** The table's name in the sandbox's namespace: the controller's mark on what it made. */
export const redirectTable = (owner: string): string => `cnm-ts-${owner}-dns`;

/** Commands that remove the table (whether it is there or not). */
export function removeRedirectCommands(owner: string): NftCommand[] {
  const target = { family: 'inet', table: redirectTable(owner) } as const;
  return [
    { cmd: 'addTable', ...target },
    { cmd: 'deleteTable', ...target },
  ];
}

/** Commands that (re)make the table with the redirect to these ports. */
export function redirectCommands(owner: string, udpPort: number, tcpPort: number): NftCommand[] {
  const target = { family: 'inet', table: redirectTable(owner) } as const;
  const rule = (protocol: 'udp' | 'tcp', port: number): NftCommand => ({
    cmd: 'addRule',
    ...target,
    chain: 'output',
    exprs: [...x.daddr(RESOLVER_ADDRESS), ...x.dport(protocol, 53), ...x.dnat(RESOLVER_ADDRESS, port)],
  });
  // The rules of a table left by an earlier controller go, in the same transaction; the table and
  // its chain stay (cheaper for the kernel than deleting and making them again).
  return [
    { cmd: 'addTable', ...target },
    { cmd: 'flushTable', ...target },
    { cmd: 'addChain', ...target, chain: 'output', type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
    rule('udp', udpPort),
    rule('tcp', tcpPort),
  ];
}
