// Command-line options of `npm run bench`: which container counts and which methods and sections
// to measure.
'use strict';

const METHODS = ['addon', 'cnm', 'batch', 'ip', 'cni', 'floor'];
/** Parts of the benchmark that stand apart from the setup / teardown methods. */
const SECTIONS = ['dns'];
const DEFAULT_COUNTS = [10, 100, 500];

const DEFAULT_RESTORE = 1000;

const USAGE = `usage: node bench/run.js [--n 10,100,500] [--only ${[...METHODS, ...SECTIONS].join(',')}] [--rounds R] [--restore N]

  --n       container counts to measure (default ${DEFAULT_COUNTS.join(',')}); the concurrent addon and cnm
            runs, the event-loop delay and the cost-growth figures use the largest
  --rounds  rounds per count, methods interleaved, medians reported (default: 3 for N <= 100, else 1)
  --restore with cnm: endpoints (each joined to a sandbox) a restarted controller restores, timed
            (default ${DEFAULT_RESTORE}; 0 skips it)
  --only    methods and sections to measure (default: all):
             addon  cnm-ts setupContainer/teardownContainer, one batch per container
                    (sequential, plus a concurrent run at the largest N)
             cnm    the full CNM path: controller.newSandbox + network.createEndpoint + endpoint.join
                    on a bridge network, undone by sandbox.delete + endpoint.delete (sequential,
                    concurrent at the largest N, a netlink request count under strace if installed,
                    and the published-ports, leave, macvlan-vs-bridge and dual-stack figures)
             batch  one \`ip -force -batch -\` process for all containers
             ip     iproute2, one \`ip\` process per step
             cni    the CNI bridge plugin with host-local IPAM (needs containernetworking-plugins)
             floor  reference, not a competitor: a minimal C program doing the addon's work (needs cc)
             dns    the embedded DNS server: dnsperf against it and aardvark-dns, local and forwarded
                    names (needs dnsperf, dnsmasq, dig; aardvark-dns for its rows), p99 and the
                    event-loop delay at 5000 queries/s, what it adds to a join, 1000 sandboxes with
                    resolvers (threads, fds, memory)
Runs as root, inside a private network + mount namespace it makes itself.`;

/** Parses argv (without node and the script); throws an Error with the usage on bad input. */
function parseArgs(argv) {
  const options = {
    counts: DEFAULT_COUNTS,
    methods: METHODS,
    sections: SECTIONS,
    rounds: /** @type {number | null} */ (null),
    restore: DEFAULT_RESTORE,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value\n\n${USAGE}`);
      return v;
    };
    if (flag === '--help' || flag === '-h') {
      options.help = true;
    } else if (flag === '--n') {
      options.counts = value()
        .split(',')
        .map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n) || n < 1 || n > 5000) throw new Error(`--n: '${s}' is not a count from 1 to 5000`);
          return n;
        });
      options.counts = [...new Set(options.counts)].sort((a, b) => a - b);
    } else if (flag === '--rounds') {
      const r = Number(value());
      if (!Number.isInteger(r) || r < 1 || r > 20) throw new Error('--rounds: give a count from 1 to 20');
      options.rounds = r;
    } else if (flag === '--restore') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0 || n > 5000) throw new Error('--restore: give a count from 0 to 5000');
      options.restore = n;
    } else if (flag === '--only') {
      const chosen = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const known = [...METHODS, ...SECTIONS];
      const unknown = chosen.filter((m) => !known.includes(m));
      if (unknown.length) throw new Error(`--only: unknown method(s) ${unknown.join(', ')}; choose from ${known.join(', ')}`);
      options.methods = METHODS.filter((m) => chosen.includes(m));
      options.sections = SECTIONS.filter((m) => chosen.includes(m));
    } else {
      throw new Error(`unknown option ${arg}\n\n${USAGE}`);
    }
  }
  return options;
}

/** Rounds for a container count: the --rounds value, or 3 up to 100 containers and 1 above. */
function roundsFor(options, n) {
  return options.rounds ?? (n <= 100 ? 3 : 1);
}

module.exports = { parseArgs, roundsFor, USAGE, METHODS, SECTIONS };
