#!/usr/bin/env node
// `npm run bench`: what "set up one container" and "tear down one container" cost through the
// cnm-ts addon, compared in one run with the full CNM path on top of it (newSandbox + createEndpoint
// + join), iproute2 (one process per step, and `ip -batch`), the CNI bridge plugin, and the kernel
// floor (a minimal C program), for several container counts; and the embedded DNS server beside
// aardvark-dns (lib/dns.js).
// Runs itself inside a private network + mount namespace (lib/sandbox.js), removes everything it
// made even on failure, prints progress to stderr and the report to stdout.
'use strict';
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const { parseArgs, roundsFor, USAGE } = require('./lib/args');
const { isInner, workDir, runInSandbox } = require('./lib/sandbox');
const { ensureDist, warnIfAddonStale } = require('./lib/dist');
const { NETWORKS, ALL_BRIDGES, makeContainers } = require('./lib/network');
const { bridgePorts, bridgeRxPackets, namespaces, waitForKernel, waitForQuiet, sweep, sleep } = require('./lib/kernel');
const { verifySample } = require('./lib/verify');
const { growth, median } = require('./lib/stats');
const { ms, times, table, verdict } = require('./lib/table');
const { addonBreakdown } = require('./lib/addon-breakdown');
const { killAll } = require('./lib/children');
const { traceCnm } = require('./lib/cnm-trace');
const { measureRestore } = require('./lib/restore');
const { measurePorts } = require('./lib/ports');
const { measureLeave, DOCKER_DISCONNECT_MS } = require('./lib/leave');
const { measureMacvlan } = require('./lib/macvlan');
const { LOOP_DELAY_TARGET_MS } = require('./lib/loop-delay');
const { measureDns } = require('./lib/dns');
const { dnsReport } = require('./lib/dns-report');
const { measureDualStack } = require('./lib/dual-stack');

const TARGETS = { batch: 3, cni: 10 };
// The CNM path (newSandbox + createEndpoint + join) may cost at most this much more than the raw
// batch, and than the C floor (issue 15).
const CNM_TARGET = 1.2;
const CNM_FLOOR_TARGET = 1.3;
// Container counts of the strace child runs (netlink requests per step, N small vs larger).
const TRACE_COUNTS = [10, 100];
const RESTORE_TARGET_MS = 1000;
const PORT_CONTAINERS = 100;
const PORTS_EACH = 10;
const GROWTH_FLAT = 1.25;
// Unpublishing N ports may cost at most this much more than publishing them (issue 9).
const UNPUBLISH_TARGET = 2;
// Leave: one after the other, and all at once; concurrent leaves must cost at most a tenth of
// Docker's disconnect (issue 9), and the C floor's drop-and-wait teardown bounds concurrent teardown.
const LEAVE_SEQUENTIAL = 50;
const LEAVE_CONCURRENT = 100;
const LEAVE_TARGET = 10;
const FLOOR_TEARDOWN_TARGET = 1.3;
// Macvlan vs bridge joins, one after the other (issue 14): a macvlan join should cost less.
const MACVLAN_JOINS = 100;
// Dual-stack vs IPv4-only joins, one after the other (issue 13): at most this much dearer; and
// publishing / unpublishing ports over IPv6 beside IPv4, in interleaved rounds (500 ports: with
// fewer, the unpublish is lost in the noise of the leave around it).
const DUAL_STACK_JOINS = 100;
const DUAL_STACK_TARGET = 1.2;
const DUAL_STACK_PORTS = 500;
const DUAL_STACK_PORT_ROUNDS = 5;
const IPV6_SETTLE_MS = 2000; // long enough for DAD (1 s) and the first router solicitation
const BREAKDOWN_PER_PREFIX = 40;

// Before each timed phase the benchmark waits for quiet CPUs, up to 30 s each and 150 s in all,
// so that another job on a shared machine cannot stretch the run much past ten minutes.
const QUIET_CAP_MS = 30000;
const QUIET_BUDGET_MS = 150000;

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// Timed phases that started without the CPUs having been quiet first (another job on the machine).
const busyStarts = { count: 0, phases: 0, waitedMs: 0 };
async function quietBeforeTiming() {
  const cap = Math.min(QUIET_CAP_MS, Math.max(1000, QUIET_BUDGET_MS - busyStarts.waitedMs));
  const { quiet, waitedMs } = await waitForQuiet(cap, log);
  busyStarts.phases += 1;
  busyStarts.waitedMs += waitedMs;
  if (!quiet) busyStarts.count += 1;
}

// Measured in this order within a round; reported with the addon first and the floor last.
const METHOD_MODULES = {
  floor: () => require('./methods/floor'),
  addon: () => require('./methods/addon'),
  cnm: () => require('./methods/cnm'),
  batch: () => require('./methods/ip-batch'),
  ip: () => require('./methods/ip-steps'),
  cni: () => require('./methods/cni'),
};
const REPORT_ORDER = ['addon', 'cnm', 'batch', 'ip', 'cni', 'floor'];

function versions() {
  const tryRun = (cmd, args, pick) => {
    try {
      return pick(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch {
      return 'n/a';
    }
  };
  const root = `${__dirname}/..`;
  return {
    kernel: os.release(),
    cpus: os.cpus().length,
    node: process.version,
    iproute2: tryRun('ip', ['-V'], (s) => (/iproute2-([\w.]+)/.exec(s) ?? [])[1] ?? s.trim()),
    cni: tryRun('dpkg-query', ['-W', '-f=${Version}', 'containernetworking-plugins'], (s) => s.trim() || 'n/a'),
    commit: tryRun('git', ['-C', root, 'log', '-1', '--format=%h'], (s) => s.trim()),
    dirty: tryRun('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no', 'lib', 'native'], (s) =>
      s.trim() ? ' + uncommitted changes in lib/ or native/' : '',
    ),
  };
}

/** One measured round of one method: setup, checks, teardown, wait for the kernel. */
async function measure(method, containers, ctx, countPackets) {
  const bridge = method.network.bridge;
  await quietBeforeTiming();
  const rxBefore = bridgeRxPackets(bridge);
  const setup = await method.setup(containers, ctx);
  const setupEnd = Date.now();
  const ports = bridgePorts(bridge).length;
  const made = namespaces().length;
  if (ports !== containers.length || made !== containers.length) {
    throw new Error(`${method.title}: ${ports} bridge ports and ${made} namespaces after setting up ${containers.length} containers`);
  }
  const facts = verifySample(containers);
  let rxPackets = null;
  if (countPackets) {
    await sleep(Math.max(0, IPV6_SETTLE_MS - (Date.now() - setupEnd)));
    rxPackets = bridgeRxPackets(bridge) - rxBefore;
  }
  await quietBeforeTiming();
  const teardown = await method.teardown(containers, ctx);
  const destroy = await waitForKernel();
  if (namespaces().length !== 0) throw new Error(`${method.title}: namespaces left after teardown: ${namespaces().slice(0, 5).join(', ')}`);
  return { setup, teardown, facts, rxPackets, destroy };
}

/** The median round of a method at one count (by setup time), with teardown's median beside it. */
function summarize(rounds) {
  const bySetup = [...rounds].sort((a, b) => a.setup.totalUs - b.setup.totalUs);
  const mid = bySetup[(bySetup.length - 1) >> 1];
  return {
    ...mid,
    rounds,
    setupUs: median(rounds.map((r) => r.setup.totalUs)),
    teardownUs: median(rounds.map((r) => r.teardown.totalUs)),
    rxPackets: rounds.map((r) => r.rxPackets).find((p) => p !== null) ?? null,
  };
}

async function runBenchmark(options) {
  const ctx = { workDir: workDir() };
  const methods = [];
  const skipped = [];
  for (const key of Object.keys(METHOD_MODULES).filter((k) => options.methods.includes(k))) {
    const method = METHOD_MODULES[key]();
    const reason = method.available();
    if (reason) {
      skipped.push({ method, reason });
      log(`skipping ${method.title}: ${reason}`);
    } else methods.push(method);
  }
  if (methods.length === 0) throw new Error('no method left to measure');
  const maxN = options.counts[options.counts.length - 1];
  const results = {};
  const concurrent = {};
  let breakdown = null;
  let trace = null;

  for (const m of methods) await m.prepare(ctx);
  // Warm-up (not reported): page cache, the addon's first load, and a check that every method works.
  for (const m of methods) {
    log(`warm-up: ${m.title}, 3 containers`);
    await measure(m, makeContainers({ ...m.network, prefix: `${m.network.prefix}w` }, 3), ctx, false);
  }
  for (const n of options.counts) {
    const rounds = roundsFor(options, n);
    const perMethod = Object.fromEntries(methods.map((m) => [m.key, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const m of methods) {
        log(`N=${n} round ${round}/${rounds}: ${m.title}`);
        const r = await measure(m, makeContainers(m.network, n), ctx, round === rounds);
        perMethod[m.key].push(r);
        log(
          `  setup ${ms(r.setup.totalUs / n)} ms, teardown ${ms(r.teardown.totalUs / n)} ms per container; links gone after ${r.destroy.linksMs} ms, CPUs quiet after ${r.destroy.quietMs ?? '>5000'} ms`,
        );
      }
    }
    results[n] = Object.fromEntries(methods.map((m) => [m.key, summarize(perMethod[m.key])]));
  }
  const concurrentNetworks = { addon: NETWORKS.concurrent, cnm: NETWORKS.cnmConcurrent };
  for (const m of methods.filter((x) => concurrentNetworks[x.key])) {
    concurrent[m.key] = await runConcurrent(m, concurrentNetworks[m.key], maxN);
  }
  const addon = methods.find((m) => m.key === 'addon');
  if (addon) {
    await quietBeforeTiming();
    breakdown = await addonBreakdown(BREAKDOWN_PER_PREFIX, log);
  }
  if (methods.some((m) => m.key === 'cnm')) trace = await traceCnm(ctx.workDir, TRACE_COUNTS, log);
  let restore = null;
  let ports = null;
  let leave = null;
  let macvlan = null;
  let dualStack = null;
  if (methods.some((m) => m.key === 'cnm')) {
    if (options.restore > 0) {
      await quietBeforeTiming();
      restore = await measureRestore(ctx.workDir, options.restore, log);
    }
    await quietBeforeTiming();
    ports = await measurePorts(ctx.workDir, PORT_CONTAINERS, PORTS_EACH, log);
    await quietBeforeTiming();
    leave = await measureLeave(ctx.workDir, LEAVE_SEQUENTIAL, LEAVE_CONCURRENT, log);
    await quietBeforeTiming();
    macvlan = await measureMacvlan(ctx.workDir, MACVLAN_JOINS, log);
    await quietBeforeTiming();
    dualStack = await measureDualStack(ctx.workDir, DUAL_STACK_JOINS, DUAL_STACK_PORTS, DUAL_STACK_PORT_ROUNDS, log);
  }
  for (const m of methods) await m.finish(ctx);
  return { methods, skipped, results, concurrent, breakdown, trace, restore, ports, leave, macvlan, dualStack, options, maxN };
}

/** All of a method's setups at once (Promise.all), checked like a measured round, then all teardowns at once. */
async function runConcurrent(method, network, n) {
  log(`${method.title} concurrent: N=${n}, all setups at once`);
  const containers = makeContainers(network, n);
  await quietBeforeTiming();
  const setup = await method.setupConcurrent(containers);
  const ports = bridgePorts(network.bridge).length;
  const made = namespaces().length;
  if (ports !== n || made !== n) throw new Error(`${method.title} concurrent: ${ports} bridge ports and ${made} namespaces after setting up ${n} containers`);
  verifySample(containers);
  await quietBeforeTiming();
  const teardown = await method.teardownConcurrent(containers);
  const destroy = await waitForKernel();
  if (namespaces().length !== 0) throw new Error(`${method.title} concurrent: namespaces left after teardown: ${namespaces().slice(0, 5).join(', ')}`);
  log(
    `  setup ${ms(setup.totalUs / n)}, teardown ${ms(teardown.totalUs / n)} ms per container; largest event-loop delay ${setup.loopDelay.histogramMaxMs.toFixed(2)} ms (histogram), ${setup.loopDelay.intervalMaxLagMs.toFixed(2)} ms (interval)`,
  );
  return { n, setup, teardown, destroy };
}

const signedMs = (us) => `${us >= 0 ? '+' : ''}${ms(us)}`;

/** cnm beside addon at one count: per-container times, the difference, cnm/addon against the target; cnm's setup against the C floor's. */
function cnmVsAddon(cnm, addon, floor, n) {
  const rows = [
    ['setup', cnm.setupUs, addon?.setupUs],
    ['teardown', cnm.teardownUs, addon?.teardownUs],
  ].map(([phase, c, a]) => {
    const ratio = a ? c / a : NaN;
    // cnm's teardown waits until the kernel has destroyed the links, the addon's does not: its
    // reference is the C floor's drop-and-wait (the concurrent figures).
    const target = phase === 'setup' ? `<= ${CNM_TARGET}x` : '-';
    return [
      phase,
      a ? ms(a / n) : '-',
      ms(c / n),
      a ? signedMs((c - a) / n) : '-',
      times(ratio),
      target,
      a && phase === 'setup' ? verdict(ratio <= CNM_TARGET) : '-',
    ];
  });
  const text = table(['cnm vs addon', 'addon ms', 'cnm ms', 'cnm - addon ms', 'cnm/addon', 'target', ''], rows);
  const note = "(teardown: cnm's sandbox.delete resolves once the kernel has destroyed the links, the addon's teardownContainer when the namespace is dropped)";
  const vsFloor = floor
    ? `\ncnm / C floor: setup ${times(cnm.setupUs / floor.setupUs)} (target <= ${CNM_FLOOR_TARGET}x ${verdict(cnm.setupUs <= floor.setupUs * CNM_FLOOR_TARGET)})`
    : '';
  return (addon ? `${text}\n${note}` : `${text}\n(addon not measured in this run: no ratio; add it with --only addon,cnm)`) + vsFloor;
}

/** Median over a count's rounds of one cnm step (total over the containers of a round). */
function cnmStepUs(result, phase, step) {
  return median(result.rounds.map((r) => r[phase].stepsUs[step]));
}

/** Where cnm's time goes, per step and per count, beside the addon's one batch. */
function cnmSteps(results, counts) {
  const { SETUP_STEPS, TEARDOWN_STEPS } = require('./methods/cnm');
  const col = (fn) => counts.map((n) => fn(results[n], n));
  const hasAddon = counts.every((n) => results[n].addon);
  const rows = [];
  for (const [phase, steps, addonLabel] of [
    ['setup', SETUP_STEPS, 'setupContainer'],
    ['teardown', TEARDOWN_STEPS, 'teardownContainer'],
  ]) {
    for (const step of steps) rows.push([phase, step, ...col((r, n) => ms(cnmStepUs(r.cnm, phase, step) / n))]);
    rows.push([phase, '= cnm, whole', ...col((r, n) => ms(r.cnm[`${phase}Us`] / n))]);
    if (phase === 'setup') {
      const inBatches = (r) => median(r.cnm.rounds.map((round) => round.setup.inBatchesUs));
      rows.push([phase, "  in the kernel's batches", ...col((r, n) => ms(inBatches(r) / n))]);
      rows.push([phase, "  in cnm-ts's code around them", ...col((r, n) => ms((r.cnm.setupUs - inBatches(r)) / n))]);
    }
    if (hasAddon) {
      rows.push([phase, `addon ${addonLabel} (one batch)`, ...col((r, n) => ms(r.addon[`${phase}Us`] / n))]);
      rows.push([phase, 'cnm - addon', ...col((r, n) => signedMs((r.cnm[`${phase}Us`] - r.addon[`${phase}Us`]) / n))]);
    }
  }
  return [
    `cnm, each step timed on its own (mean per container, medians over rounds):`,
    table(['phase', 'step', ...counts.map((n) => `N=${n} ms`)], rows),
    "(in the kernel's batches: from each Kernel.batch call to its result, checks, conversion and the worker's trip included)",
  ].join('\n');
}

// /proc counts CPU in clock ticks (10 ms): the CPU split is shown only for counts whose rounds last long enough.
const CPU_SPLIT_MIN_N = 100;

/**
 * The CPU each setup took on the JS thread and on the other threads (libuv's workers, the addon's
 * namespace threads, V8's helpers), addon beside cnm: the JS thread's share is the library's own
 * code, the other threads' mostly the kernel's work.
 */
function cpuSplit(results, counts) {
  const shown = counts.filter((n) => n >= CPU_SPLIT_MIN_N && results[n].addon?.setup.cpu && results[n].cnm?.setup.cpu);
  if (shown.length === 0) return null;
  const perContainer = (n, key, part) => median(results[n][key].rounds.map((r) => r.setup.cpu[part])) / n;
  const rows = [];
  for (const [part, label] of [
    ['jsUs', 'JS thread'],
    ['otherUs', 'other threads'],
  ]) {
    rows.push([`addon, ${label}`, ...shown.map((n) => ms(perContainer(n, 'addon', part)))]);
    rows.push([`cnm, ${label}`, ...shown.map((n) => ms(perContainer(n, 'cnm', part)))]);
    rows.push([`cnm - addon, ${label}`, ...shown.map((n) => signedMs(perContainer(n, 'cnm', part) - perContainer(n, 'addon', part)))]);
  }
  return [
    'CPU per container of the sequential setups (medians over rounds; /proc counts in 10 ms ticks, so N >= 100 only):',
    table(['', ...shown.map((n) => `N=${n} ms`)], rows),
    "(other threads: libuv's workers, the addon's namespace threads and V8's helpers; the kernel's own work is most of it)",
  ].join('\n');
}

/** cnm's per-step cost growth at the largest count, setup and teardown, beside the addon's teardown. */
function cnmGrowth(results, n) {
  const { SETUP_STEPS, TEARDOWN_STEPS } = require('./methods/cnm');
  const row = (label, list) => {
    const g = growth(list);
    return [label, ms(g.firstUs), ms(g.lastUs), signedMs(g.lastUs - g.firstUs), times(g.ratio), g.ratio <= GROWTH_FLAT ? 'flat' : 'GROWS'];
  };
  const c = results.cnm;
  const rows = [
    ...SETUP_STEPS.map((step) => row(`setup: ${step}`, c.setup.stepsPerContainerUs[step])),
    ...TEARDOWN_STEPS.map((step) => row(`teardown: ${step}`, c.teardown.stepsPerContainerUs[step])),
    row('teardown: cnm, whole', c.teardown.perContainerUs),
    ...(results.addon ? [row('teardown: addon teardownContainer', results.addon.teardown.perContainerUs)] : []),
  ];
  return [
    `cnm step by step, N = ${n}, last 10% vs first 10% (join alone: issue 3's "no listing all links or addresses per join"):`,
    table(['step', 'first 10% ms', 'last 10% ms', 'difference ms', 'last/first', ''], rows),
    '(growth that the addon and the C floor above show as well comes from the kernel, which takes longer to add a',
    ' namespace or a bridge port as they accumulate; the netlink request count below tells whether a step lists what exists)',
  ].join('\n');
}

/** The strace child runs: netlink requests, dumps and bytes per container and step, N small vs larger. */
function cnmTraceReport(trace, cnmResult, maxN) {
  const out = [`== Netlink requests per container of the CNM path (strace -f of a child process, N = ${trace.counts?.join(' and ') ?? '-'}) ==`];
  if (trace.skipped) {
    out.push(`SKIPPED: ${trace.skipped}`);
    return out.join('\n');
  }
  const [small, large] = trace.counts;
  const a = trace.runs[small];
  const b = trace.runs[large];
  const f1 = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  const steps = Object.keys(b);
  const rows = steps.map((step) => [
    step,
    f1(a[step].all.messages),
    f1(b[step].all.messages),
    f1(b[step].last.messages),
    `${f1(a[step].all.dumps)} / ${f1(b[step].all.dumps)}`,
    f1(a[step].all.bytes),
    f1(b[step].all.bytes),
    f1(b[step].last.bytes),
  ]);
  out.push(
    table(['step', `requests N=${small}`, `N=${large}`, `N=${large} last 10%`, 'dumps', `bytes in N=${small}`, `N=${large}`, `N=${large} last 10%`], rows),
  );
  const join = (r) => r.join;
  const mix = Object.entries(join(b).types)
    .map(([t, v]) => `${t} x${f1(v)}`)
    .join(', ');
  out.push(`join's requests (N=${large}, per container): ${mix || 'none'}`);
  const flat =
    join(b).all.messages <= join(a).all.messages + 0.05 &&
    join(b).last.messages <= join(a).all.messages + 0.05 &&
    join(b).all.dumps === 0 &&
    join(b).last.bytes <= join(a).all.bytes * GROWTH_FLAT;
  out.push(
    `netlink requests per join ${flat ? 'do not grow' : 'GROW'} with N (requests, dumps and bytes received per join at N=${large}, also its last 10%, vs N=${small}): ${flat ? 'ok' : 'MISSED'}`,
  );
  if (cnmResult?.setup.stepsPerContainerUs) {
    const g = growth(cnmResult.setup.stepsPerContainerUs.join);
    out.push(
      `join's time, N = ${maxN}: first 10% ${ms(g.firstUs)} ms, last 10% ${ms(g.lastUs)} ms (${times(g.ratio)}, ${g.ratio <= GROWTH_FLAT ? 'flat' : 'GROWS'})`,
    );
  }
  out.push('(requests = netlink messages sent, from sendto/sendmsg; dumps = GET requests with NLM_F_DUMP; bytes in = recvfrom/recvmsg');
  out.push(' results, acks included. Counted in a separate process under strace; the timed runs above are not traced.)');
  return out.join('\n');
}

/** The published-ports figure: what one more published port costs, and whether it grows. */
function portsReport(p) {
  const g = p.growth;
  const lines = [
    `== Published ports: ${p.containers} containers x ${p.portsEach} ports (one bridge network; host ports picked by the kernel) ==`,
    table(
      ['', 'ms'],
      [
        ['join, no ports (median)', ms(p.plainJoinUs)],
        [`join with ${p.portsEach} ports (median)`, ms(p.portsJoinUs)],
        ['= one published port (hold the host port + a DNAT map element)', ms(p.perPortUs)],
        ...(p.cliPerPortUs !== null ? [['one `nft add element` process per port (the CLI way)', ms(p.cliPerPortUs)]] : []),
      ],
    ),
    `per-port cost, first 10% of containers ${ms(g.firstUs)} ms vs last 10% ${ms(g.lastUs)} ms: ${times(g.ratio)} (${g.ratio <= GROWTH_FLAT ? 'flat' : 'GROWS'}; ports ${((p.containers * p.portsEach) / 10) * 9 + 1} to ${p.containers * p.portsEach} beside 1 to ${(p.containers * p.portsEach) / 10})`,
  ];
  if (p.cliPerPortUs !== null) lines.push(`cnm-ts is ${times(p.cliPerPortUs / p.perPortUs)} faster per port than one nft process per port`);
  const u = p.unpublish;
  const publishUs = u.many.joinUs - u.plain.joinUs;
  const unpublishUs = u.many.leaveUs - u.plain.leaveUs;
  lines.push(
    '',
    `One container with ${u.ports} published ports beside one without (its leave is the unpublish: one map transaction, one conntrack sweep):`,
    table(
      ['', 'join ms', 'leave ms'],
      [
        ['no ports', ms(u.plain.joinUs), ms(u.plain.leaveUs)],
        [`${u.ports} ports`, ms(u.many.joinUs), ms(u.many.leaveUs)],
      ],
    ),
    `publish ${u.ports} ports ${ms(publishUs)} ms, unpublish them ${ms(unpublishUs)} ms: ${times(unpublishUs / publishUs)} (target <= ${UNPUBLISH_TARGET}x ${verdict(unpublishUs <= publishUs * UNPUBLISH_TARGET)})`,
  );
  return lines.join('\n');
}

/** The macvlan figure: join and sandbox delete on a macvlan network beside a bridge network. */
function macvlanReport(m) {
  return [
    `== macvlan vs bridge: ${m.count} containers each, one after the other, interleaved (newSandbox + createEndpoint untimed) ==`,
    table(
      ['', 'bridge ms', 'macvlan ms', 'bridge/macvlan'],
      [
        ['endpoint.join (median)', ms(m.join.bridgeUs), ms(m.join.macvlanUs), times(m.join.bridgeUs / m.join.macvlanUs)],
        ['sandbox.delete (median)', ms(m.delete.bridgeUs), ms(m.delete.macvlanUs), times(m.delete.bridgeUs / m.delete.macvlanUs)],
      ],
    ),
    `macvlan join ${m.join.macvlanUs < m.join.bridgeUs ? 'cheaper' : 'NOT cheaper'} than a bridge join (no bridge port, no veth host end, no firewall element)`,
    "(a macvlan's sandbox.delete deletes its link before the namespace goes, so that its MAC is free at once: see README)",
  ].join('\n');
}

/** The dual-stack figure: a join on a dual-stack network beside an IPv4-only one; ports published over IPv6 beside IPv4. */
function dualStackReport(d) {
  const ratio = d.joinUs.dual / d.joinUs.ipv4;
  const p = d.ports;
  const lines = [
    `== Dual stack: ${d.joins} containers each, one after the other, interleaved (newSandbox + createEndpoint untimed) ==`,
    table(
      ['', 'IPv4-only ms', 'dual-stack ms', 'dual/IPv4', 'target', ''],
      [['endpoint.join (median)', ms(d.joinUs.ipv4), ms(d.joinUs.dual), times(ratio), `<= ${DUAL_STACK_TARGET}x`, verdict(ratio <= DUAL_STACK_TARGET)]],
    ),
    '',
    `${p.ports} ports published on the dual-stack network by one container, beside one without, median of ${p.rounds} interleaved rounds:`,
  ];
  if (!p.ipv6) {
    lines.push(
      table(
        ['', 'IPv4 (0.0.0.0) ms'],
        [
          [`publish ${p.ports} ports (join)`, ms(p.ipv4.publishUs)],
          [`unpublish them (leave)`, ms(p.ipv4.unpublishUs)],
        ],
      ),
      `IPv6 ([::]): not measured, this build refuses an IPv6 host address (${p.refused})`,
    );
    return lines.join('\n');
  }
  lines.push(
    table(
      ['', 'IPv4 (0.0.0.0) ms', 'IPv6 ([::]) ms', 'IPv6/IPv4'],
      [
        [`publish ${p.ports} ports (join)`, ms(p.ipv4.publishUs), ms(p.ipv6.publishUs), times(p.ipv6.publishUs / p.ipv4.publishUs)],
        [`unpublish them (leave)`, ms(p.ipv4.unpublishUs), ms(p.ipv6.unpublishUs), times(p.ipv6.unpublishUs / p.ipv4.unpublishUs)],
      ],
    ),
  );
  return lines.join('\n');
}

/** The leave figure: one after the other and all at once, per leave, against Docker's disconnect. */
function leaveReport(l) {
  const target = DOCKER_DISCONNECT_MS / LEAVE_TARGET;
  const perLeaveMs = l.concurrent.perLeaveUs / 1000;
  return [
    `== Leave: endpoint.leave(sandbox), one bridge network, one endpoint per sandbox ==`,
    table(
      ['', 'ms per leave'],
      [
        [`sequential, ${l.sequential.count} (median)`, ms(l.sequential.leaveUs)],
        [`sequential leave + endpoint.delete (median)`, ms(l.sequential.leaveDeleteUs)],
        [`concurrent, ${l.concurrent.n} at once (total / ${l.concurrent.n})`, ms(l.concurrent.perLeaveUs)],
      ],
    ),
    `concurrent leave vs Docker's disconnect (${DOCKER_DISCONNECT_MS}-53 ms, quoted from issue 9's run against dockerd 20.10, not measured here): ${times(DOCKER_DISCONNECT_MS / perLeaveMs)} faster ` +
      `(target >= ${LEAVE_TARGET}x, <= ${target.toFixed(1)} ms per leave: ${verdict(perLeaveMs <= target)})`,
  ].join('\n');
}

/** The restart figure: how long a new controller takes to restore what the last one left. */
function restoreReport(r) {
  const per = r.medianUs / r.endpoints;
  return [
    `== Restart: a new controller restores ${r.endpoints} endpoints, each joined to its own sandbox, on ${r.networks} networks ==`,
    `NetworkController.create on the state directory, median of ${r.restarts.length}: ${ms(r.medianUs)} ms ` +
      `(${per.toFixed(1)} us per endpoint; runs ${r.restarts.map((us) => ms(us)).join(', ')} ms) ` +
      `(target < ${RESTORE_TARGET_MS} ms: ${verdict(r.medianUs / 1000 < RESTORE_TARGET_MS)})`,
    '(reads every record, rebuilds IPAM, checks each namespace (netnsInfo) and every veth and bridge in one',
    ' link dump, and looks for orphans; the checks found every object in place, as they must)',
  ].join('\n');
}

function report(run) {
  const { skipped, results, concurrent, breakdown, trace, options, maxN } = run;
  const methods = REPORT_ORDER.map((k) => run.methods.find((m) => m.key === k)).filter(Boolean);
  const counts = options.counts;
  const v = versions();
  const has = (key) => methods.some((m) => m.key === key);
  const out = [];
  out.push('cnm-ts benchmark: set up / tear down one container');
  out.push(`kernel ${v.kernel}, ${v.cpus} CPUs, node ${v.node}, iproute2 ${v.iproute2}, containernetworking-plugins ${v.cni}`);
  out.push(`cnm-ts ${v.commit}${v.dirty}`);
  out.push('');
  out.push('Unit of work, the same end state for every method (checked with `ip -j` on the first, middle and');
  out.push('last container of every run, and every host end counted on its bridge): a named namespace; a veth');
  out.push("pair with eth0 inside and the host end up on the method's own bridge; ADDR/16 with broadcast on");
  out.push('eth0; lo and eth0 up; default route via the gateway (.0.1, on the bridge). Teardown = what each');
  out.push('method does to undo it (addon, ip, ip -batch: drop the namespace; floor: drop every namespace, then');
  out.push('wait until the kernel has destroyed every host end; CNI: bridge DEL, then ip netns del; cnm:');
  out.push('sandbox.delete, which resolves once the host end is gone, + endpoint.delete), timed as issued; before the next phase the');
  out.push('benchmark waits, untimed, until the kernel has destroyed the links, and every timed phase starts only');
  out.push(
    `once the CPUs are quiet (< 10% busy for 0.3 s; waited ${Math.round(busyStarts.waitedMs / 1000)} s in all): ${busyStarts.count} of ${busyStarts.phases} timed phases started on a busy machine.`,
  );
  out.push('Times are per container (total / N), in ms; process-based methods are driven by bash. Each count');
  out.push(`runs ${counts.map((n) => `${roundsFor(options, n)} round(s) at N=${n}`).join(', ')}, methods interleaved; medians reported.`);
  out.push('"C floor" is a reference, not a competitor: bench/floor/floor.c does the addon\'s work with the');
  out.push("same end state from one C thread, one netlink message per step, no lookups (the kernel's own cost).");
  out.push('"cnm" is the full CNM path on one NetworkController (no predefined networks) with one bridge network');
  out.push('(10.205.0.0/16, bridge made by cnm-ts): controller.newSandbox(id) + network.createEndpoint(name) +');
  out.push('endpoint.join(sandbox) per container; the library picks namespace names and addresses (IPAM), and the');
  out.push('checks read them from the sandbox and endpoint. It also writes hosts / resolv.conf per sandbox.');
  for (const { method, reason } of skipped) out.push(`SKIPPED ${method.title}: ${reason}`);

  for (const n of counts) {
    const r = results[n];
    out.push('');
    out.push(`== N = ${n} ==`);
    out.push(
      table(
        ['method', 'setup ms', 'teardown ms', 'links gone after ms', 'CPUs quiet after ms'],
        methods.map((m) => [
          m.title,
          ms(r[m.key].setupUs / n),
          ms(r[m.key].teardownUs / n),
          String(r[m.key].destroy.linksMs),
          String(r[m.key].destroy.quietMs ?? '>5000'),
        ]),
      ),
    );
    if (has('addon')) {
      const a = r.addon;
      const rows = methods
        .filter((m) => m.key !== 'addon' && m.key !== 'floor' && m.key !== 'cnm')
        .map((m) => {
          const s = r[m.key].setupUs / a.setupUs;
          const t = r[m.key].teardownUs / a.teardownUs;
          const target = TARGETS[m.key];
          return [
            `addon vs ${m.title}`,
            times(s),
            target ? `>= ${target}x ${verdict(s >= target)}` : '-',
            times(t),
            target ? `>= ${target}x ${verdict(t >= target)}` : '-',
          ];
        });
      if (rows.length) out.push('', table(['addon is faster by', 'setup', 'target', 'teardown', 'target'], rows));
      if (has('floor')) {
        const f = r.floor;
        out.push(
          `addon / C floor: setup ${times(a.setupUs / f.setupUs)} (${signedMs((a.setupUs - f.setupUs) / n)} ms), ` +
            `teardown ${times(a.teardownUs / f.teardownUs)} (${signedMs((a.teardownUs - f.teardownUs) / n)} ms)`,
          `C floor's setup lead, the most any library could reach here: ${times(r.batch ? r.batch.setupUs / f.setupUs : NaN)} vs ip -batch, ` +
            `${times(r.cni ? r.cni.setupUs / f.setupUs : NaN)} vs CNI`,
        );
      }
    }
    if (has('cnm')) out.push('', cnmVsAddon(r.cnm, r.addon, r.floor, n));
  }

  const conc = ['addon', 'cnm'].filter((k) => concurrent[k]);
  if (conc.length) {
    const c0 = concurrent[conc[0]];
    out.push('');
    out.push(`== ${conc.join(' and ')}, N = ${c0.n}, all at once (Promise.all; libuv pool of ${process.env.UV_THREADPOOL_SIZE ?? 4} threads) ==`);
    const rows = [];
    for (const k of conc) {
      const c = concurrent[k];
      const seq = results[c.n]?.[k];
      rows.push([`${k} concurrent`, ms(c.setup.totalUs / c.n), ms(c.teardown.totalUs / c.n), String(c.destroy.linksMs), String(c.destroy.quietMs ?? '>5000')]);
      if (seq)
        rows.push([
          `${k} sequential (above)`,
          ms(seq.setupUs / c.n),
          ms(seq.teardownUs / c.n),
          String(seq.destroy.linksMs),
          String(seq.destroy.quietMs ?? '>5000'),
        ]);
    }
    out.push(table(['', 'setup ms', 'teardown ms', 'links gone after ms', 'CPUs quiet after ms'], rows));
    if (concurrent.addon && results[c0.n]?.batch) {
      out.push(`concurrent addon vs ip -batch, setup: ${times(results[c0.n].batch.setupUs / concurrent.addon.setup.totalUs)} (target >= ${TARGETS.batch}x)`);
    }
    if (concurrent.addon && concurrent.cnm) {
      const s = concurrent.cnm.setup.totalUs / concurrent.addon.setup.totalUs;
      const t = concurrent.cnm.teardown.totalUs / concurrent.addon.teardown.totalUs;
      out.push(
        `concurrent cnm / addon: setup ${times(s)} (target <= ${CNM_TARGET}x ${verdict(s <= CNM_TARGET)}), teardown ${times(t)} (cnm's waits for the kernel, the addon's does not; see the C floor below)`,
      );
    }
    const floor = results[c0.n]?.floor;
    if (concurrent.cnm && floor) {
      const t = concurrent.cnm.teardown.totalUs / floor.teardownUs;
      out.push(
        `concurrent cnm teardown (sandbox.delete + endpoint.delete, each resolving once its host end is gone) / C floor's ` +
          `drop-and-wait teardown (every namespace dropped, then the wait for every host end): ${times(t)} ` +
          `(${ms(concurrent.cnm.teardown.totalUs / c0.n)} vs ${ms(floor.teardownUs / c0.n)} ms per container; target <= ${FLOOR_TEARDOWN_TARGET}x ${verdict(t <= FLOOR_TEARDOWN_TARGET)})`,
      );
    }
    out.push('');
    out.push(`Largest event-loop delay while ${c0.n} containers were set up concurrently:`);
    const delayRows = [];
    for (const k of conc) {
      const d = concurrent[k].setup.loopDelay;
      delayRows.push(
        [
          `${k}: monitorEventLoopDelay (1 ms resolution)`,
          d.histogramMaxMs.toFixed(2),
          `< ${LOOP_DELAY_TARGET_MS} ms`,
          verdict(d.histogramMaxMs < LOOP_DELAY_TARGET_MS),
        ],
        [`${k}: setInterval(1 ms) lateness`, d.intervalMaxLagMs.toFixed(2), `< ${LOOP_DELAY_TARGET_MS} ms`, verdict(d.intervalMaxLagMs < LOOP_DELAY_TARGET_MS)],
      );
    }
    out.push(table(['probe', 'max ms', 'target', ''], delayRows));
    for (const k of conc) {
      const d = concurrent[k].setup.loopDelay;
      const calls = k === 'addon' ? 'setupContainer() calls' : 'newSandbox() chains';
      out.push(
        `(${k}: monitorEventLoopDelay p99 ${d.histogramP99Ms.toFixed(2)} ms; the ${c0.n} ${calls} themselves took ${d.syncCallMs.toFixed(1)} ms of the JS thread before the first await; ` +
          `V8's garbage collections meanwhile: ${d.gc.count}, ${d.gc.totalMs.toFixed(1)} ms in all, the longest ${d.gc.maxMs.toFixed(2)} ms (${d.gc.maxKind}), which the JS thread waits out like a long turn)`,
      );
    }
  }

  const growthRows = methods
    .filter((m) => results[maxN][m.key].setup.perContainerUs)
    .map((m) => {
      const g = growth(results[maxN][m.key].setup.perContainerUs);
      return [m.title, ms(g.firstUs), ms(g.lastUs), ms(g.lastUs - g.firstUs), times(g.ratio), g.ratio <= GROWTH_FLAT ? 'flat' : 'GROWS'];
    });
  if (growthRows.length) {
    out.push('');
    out.push(`== Per-container setup cost growth, N = ${maxN}: last 10% vs first 10% (target: flat, <= ${GROWTH_FLAT}x) ==`);
    out.push(table(['method', 'first 10% ms', 'last 10% ms', 'difference ms', 'last/first', ''], growthRows));
    if (has('batch')) out.push('(ip -batch is one process: no per-container times)');
  }
  if (has('cnm')) out.push('', cnmGrowth(results[maxN], maxN));

  out.push('');
  out.push(`== Where the time goes, N = ${maxN} (mean per container, ms) ==`);
  for (const m of methods.filter((x) => x.key === 'ip' || x.key === 'cni')) {
    const r = results[maxN][m.key];
    const rows = [];
    for (const phase of ['setup', 'teardown']) {
      for (const [step, us] of Object.entries(r[phase].stepsUs)) rows.push([phase, step, ms(us / maxN)]);
    }
    out.push(`${m.title}, one step after the other:`);
    out.push(table(['phase', 'step', 'ms'], rows));
  }
  if (has('cnm')) out.push(cnmSteps(results, counts));
  const split = has('cnm') && has('addon') ? cpuSplit(results, counts) : null;
  if (split) out.push(split);
  if (breakdown) {
    const floor = has('floor') ? results[maxN].floor : null;
    const floorMs = (step) => (floor && step && floor.setup.stepsUs[step] !== undefined ? ms(floor.setup.stepsUs[step] / maxN) : '-');
    out.push(
      `addon, marginal cost of each operation of one setupContainer batch (medians over ${breakdown.perPrefix} containers per prefix of the`,
      `batch, prefixes interleaved; differences of medians, so expect +-0.3 ms of noise), beside the C floor's own step times (N = ${maxN}):`,
    );
    out.push(
      table(
        ['operation', 'addon ms', 'C floor ms'],
        [
          ['worker trip (empty batch)', ms(breakdown.tripUs), '-'],
          ...breakdown.ops.map((o) => [o.label, ms(o.marginalUs), floorMs(o.step)]),
          ['= whole batch', ms(breakdown.totalUs), floor ? ms(floor.setupUs / maxN) : '-'],
          ['teardown: netnsDelete', ms(breakdown.deleteUs), floor ? ms(floor.teardownUs / maxN) : '-'],
        ],
      ),
    );
  }

  if (trace) out.push('', cnmTraceReport(trace, results[maxN].cnm, maxN));
  if (run.restore) out.push('', restoreReport(run.restore));
  if (run.ports) out.push('', portsReport(run.ports));
  if (run.leave) out.push('', leaveReport(run.leave));
  if (run.macvlan) out.push('', macvlanReport(run.macvlan));
  if (run.dualStack) out.push('', dualStackReport(run.dualStack));

  out.push('');
  out.push(`== IPv6 handling (the end states differ only here), N = ${maxN} ==`);
  const facts = (k) => results[maxN][k].facts;
  out.push(
    table(
      ['method', 'container eth0 IPv6', 'lo ::1', 'host end IPv6', ...counts.map((n) => `bridge rx pkts N=${n}`)],
      methods.map((m) => [
        m.title,
        facts(m.key).containerIpv6Disabled ? 'disabled' : facts(m.key).eth0Inet6.length ? facts(m.key).eth0Inet6.join(' ') : 'on, no address',
        facts(m.key).loInet6.length ? 'yes' : 'no',
        facts(m.key).hostEndInet6.length ? `link-local (${facts(m.key).hostEndInet6.length})` : 'no address',
        ...counts.map((n) => String(results[n][m.key].rxPackets)),
      ]),
    ),
  );
  for (const m of methods) out.push(`${m.title}: ${m.ipv6}`);
  out.push(`(bridge rx pkts: packets the bridge heard from its ports during setup + ${IPV6_SETTLE_MS / 1000} s, last round; 0 = silent)`);
  return out.join('\n');
}

async function inner(options) {
  const cleanup = async () => {
    log('cleaning up: every namespace, every benchmark bridge');
    const problems = await sweep(ALL_BRIDGES);
    for (const p of problems) log(`cleanup: ${p}`);
    return problems.length === 0;
  };
  let interrupted = false;
  const onSignal = (signal) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping`);
    killAll();
    cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let code = 0;
  try {
    if (options.methods.length === 0 && options.sections.length === 0) throw new Error('--only: nothing left to measure');
    const parts = [];
    if (options.methods.length) parts.push(report(await runBenchmark(options)));
    if (options.sections.includes('dns')) {
      const load = os.loadavg();
      const dns = await measureDns(workDir(), { quiet: quietBeforeTiming, log });
      parts.push(dnsReport(dns, load));
      if (!options.methods.length)
        parts.push(
          `(${busyStarts.count} of ${busyStarts.phases} timed phases started on a busy machine; waited ${Math.round(busyStarts.waitedMs / 1000)} s for quiet CPUs)`,
        );
    }
    if (!interrupted) process.stdout.write(parts.join('\n\n') + '\n');
  } catch (err) {
    if (interrupted) return;
    log(`FAILED: ${err.stack ?? err}`);
    code = 1;
  }
  if (interrupted) return;
  if (!(await cleanup())) code = 1;
  process.exitCode = code;
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (isInner()) return inner(options);
  ensureDist(log);
  warnIfAddonStale(log);
  process.exitCode = await runInSandbox(__filename, process.argv.slice(2));
}

main().catch((err) => {
  log(`FAILED: ${err.stack ?? err}`);
  process.exitCode = 1;
});
