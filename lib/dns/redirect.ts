// Inside a sandbox's namespace, 127.0.0.11:53 is sent to the ports the resolver's sockets got (as
// Docker's DOCKER_OUTPUT chain does), so that port 53 stays free for the sandbox's own processes;
// conntrack turns the replies' source back into 127.0.0.11:53. The `dnsSockets` op that opens
// the sockets makes the table too (native/kernel/dns-redirect.h), for the ports they actually got;
// what is here names the table and takes it away.
import type { NftCommand } from '../native';

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
