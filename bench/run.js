#!/usr/bin/env node
// `npm run bench`: what "set up one container" and "tear down one container" cost through the
// cnm-ts addon, compared in one run with iproute2 (one process per step, and `ip -batch`), the
// CNI bridge plugin, and the kernel floor (a minimal C program), for several container counts.
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
const { ms, times, table } = require('./lib/table');
const { addonBreakdown } = require('./lib/addon-breakdown');
const { killAll } = require('./lib/children');

const TARGETS = { batch: 3, cni: 10 };
const LOOP_DELAY_TARGET_MS = 10;
const GROWTH_FLAT = 1.25;
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
  batch: () => require('./methods/ip-batch'),
  ip: () => require('./methods/ip-steps'),
  cni: () => require('./methods/cni'),
};
const REPORT_ORDER = ['addon', 'batch', 'ip', 'cni', 'floor'];

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
    dirty: tryRun('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no', 'lib', 'native'], (s) => (s.trim() ? ' + uncommitted changes in lib/ or native/' : '')),
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
  let concurrent = null;
  let breakdown = null;

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
        log(`  setup ${ms(r.setup.totalUs / n)} ms, teardown ${ms(r.teardown.totalUs / n)} ms per container; links gone after ${r.destroy.linksMs} ms, CPUs quiet after ${r.destroy.quietMs ?? '>5000'} ms`);
      }
    }
    results[n] = Object.fromEntries(methods.map((m) => [m.key, summarize(perMethod[m.key])]));
  }
  const addon = methods.find((m) => m.key === 'addon');
  if (addon) {
    log(`addon concurrent: N=${maxN}, all setups at once`);
    const containers = makeContainers(NETWORKS.concurrent, maxN);
    await quietBeforeTiming();
    const setup = await addon.setupConcurrent(containers);
    const ports = bridgePorts(NETWORKS.concurrent.bridge).length;
    if (ports !== maxN) throw new Error(`addon concurrent: ${ports} bridge ports after setting up ${maxN} containers`);
    verifySample(containers);
    await quietBeforeTiming();
    const teardown = await addon.teardownConcurrent(containers);
    const destroy = await waitForKernel();
    concurrent = { n: maxN, setup, teardown, destroy };
    log(`  setup ${ms(setup.totalUs / maxN)} ms per container; largest event-loop delay ${setup.loopDelay.histogramMaxMs.toFixed(2)} ms (histogram), ${setup.loopDelay.intervalMaxLagMs.toFixed(2)} ms (interval)`);
    await quietBeforeTiming();
    breakdown = await addonBreakdown(BREAKDOWN_PER_PREFIX, log);
  }
  for (const m of methods) await m.finish(ctx);
  return { methods, skipped, results, concurrent, breakdown, options, maxN };
}

const verdict = (ok) => (ok ? 'ok' : 'MISSED');
const signedMs = (us) => `${us >= 0 ? '+' : ''}${ms(us)}`;

function report(run) {
  const { skipped, results, concurrent, breakdown, options, maxN } = run;
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
  out.push('method does to undo it (addon, ip, ip -batch, floor: drop the namespace; CNI: bridge DEL, then');
  out.push('ip netns del), timed as issued; before the next phase the benchmark waits, untimed, until the');
  out.push('kernel has destroyed the links, and every timed phase starts only once the CPUs are quiet');
  out.push(
    `(< 10% busy for 0.3 s; waited ${Math.round(busyStarts.waitedMs / 1000)} s in all): ${busyStarts.count} of ${busyStarts.phases} timed phases started on a busy machine.`,
  );
  out.push('Times are per container (total / N), in ms; process-based methods are driven by bash. Each count');
  out.push(`runs ${counts.map((n) => `${roundsFor(options, n)} round(s) at N=${n}`).join(', ')}, methods interleaved; medians reported.`);
  out.push('"C floor" is a reference, not a competitor: bench/floor/floor.c does the addon\'s work with the');
  out.push('same end state from one C thread, one netlink message per step, no lookups (the kernel\'s own cost).');
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
        .filter((m) => m.key !== 'addon' && m.key !== 'floor')
        .map((m) => {
          const s = r[m.key].setupUs / a.setupUs;
          const t = r[m.key].teardownUs / a.teardownUs;
          const target = TARGETS[m.key];
          return [`addon vs ${m.title}`, times(s), target ? `>= ${target}x ${verdict(s >= target)}` : '-', times(t), target ? `>= ${target}x ${verdict(t >= target)}` : '-'];
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
  }

  if (concurrent) {
    const c = concurrent;
    const seq = results[c.n]?.addon;
    const d = c.setup.loopDelay;
    out.push('');
    out.push(`== addon, N = ${c.n}, all at once (Promise.all; libuv pool of ${process.env.UV_THREADPOOL_SIZE ?? 4} threads) ==`);
    out.push(
      table(
        ['', 'setup ms', 'teardown ms', 'links gone after ms', 'CPUs quiet after ms'],
        [
          ['concurrent', ms(c.setup.totalUs / c.n), ms(c.teardown.totalUs / c.n), String(c.destroy.linksMs), String(c.destroy.quietMs ?? '>5000')],
          ...(seq ? [['sequential (above)', ms(seq.setupUs / c.n), ms(seq.teardownUs / c.n), String(seq.destroy.linksMs), String(seq.destroy.quietMs ?? '>5000')]] : []),
        ],
      ),
    );
    if (results[c.n]?.batch) out.push(`concurrent addon vs ip -batch, setup: ${times(results[c.n].batch.setupUs / c.setup.totalUs)} (target >= ${TARGETS.batch}x)`);
    out.push('');
    out.push(`Largest event-loop delay while ${c.n} containers were set up concurrently:`);
    out.push(
      table(
        ['probe', 'max ms', 'target', ''],
        [
          ['monitorEventLoopDelay (1 ms resolution)', d.histogramMaxMs.toFixed(2), `< ${LOOP_DELAY_TARGET_MS} ms`, verdict(d.histogramMaxMs < LOOP_DELAY_TARGET_MS)],
          ['setInterval(1 ms) lateness', d.intervalMaxLagMs.toFixed(2), `< ${LOOP_DELAY_TARGET_MS} ms`, verdict(d.intervalMaxLagMs < LOOP_DELAY_TARGET_MS)],
        ],
      ),
    );
    out.push(`(monitorEventLoopDelay p99 ${d.histogramP99Ms.toFixed(2)} ms; the ${c.n} setupContainer() calls themselves took ${d.syncCallMs.toFixed(1)} ms of the JS thread before the first await)`);
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
    const run = await runBenchmark(options);
    if (!interrupted) process.stdout.write(report(run) + '\n');
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
