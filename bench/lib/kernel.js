// The benchmark's independent view of the kernel, through iproute2: reading links, making and
// removing the bridges, waiting for the kernel's background destruction, and the final sweep.
'use strict';
const { gatewayOf } = require('./network');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');

const NETNS_DIR = '/run/netns';

/** Runs `ip ARGS` (in namespace `netns` by name, if given) and returns its stdout. */
function ip(args, netns) {
  return execFileSync('ip', netns ? ['-n', netns, ...args] : args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `ip -j ARGS` and parses the JSON. */
function ipJson(args, netns) {
  const out = ip(['-j', ...args], netns);
  return JSON.parse(out.trim() || '[]');
}

/** Makes a bridge with the gateway address on it, up. */
function createBridge(name, gatewayCidr) {
  ip(['link', 'add', name, 'type', 'bridge']);
  ip(['addr', 'add', gatewayCidr, 'dev', name]);
  ip(['link', 'set', name, 'up']);
}

function deleteBridge(name) {
  try {
    ip(['link', 'del', name]);
  } catch {
    // already gone
  }
}

/** Names of the veth links in this (the benchmark's) namespace. */
function hostVeths() {
  return ipJson(['link', 'show', 'type', 'veth']).map((l) => l.ifname);
}

/** Names of the ports of a bridge. */
function bridgePorts(bridge) {
  return ipJson(['link', 'show', 'master', bridge]).map((l) => l.ifname);
}

/** The bridge's receive counter: packets the ports sent up to it (IPv6 chatter, ARP, ...). */
function bridgeRxPackets(bridge) {
  const [link] = ipJson(['-s', 'link', 'show', 'dev', bridge]);
  return link.stats64.rx.packets;
}

/** Namespace files in /run/netns. */
function namespaces() {
  try {
    return fs.readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the kernel has destroyed every veth in this namespace (dropped namespaces take theirs
 * with them in the background), so that one method's cleanup does not slow the next. Resolves with
 * the milliseconds it waited.
 */
async function waitForVethsGone(timeoutMs = 120000) {
  const start = Date.now();
  let left = hostVeths();
  while (left.length > 0) {
    if (Date.now() - start > timeoutMs) throw new Error(`${left.length} veth(s) still there after ${timeoutMs} ms: ${left.slice(0, 5).join(', ')}`);
    await sleep(20);
    left = hostVeths();
  }
  return Date.now() - start;
}

/**
 * Busy share of all CPUs since the previous sample, from /proc/stat. Time stolen by the hypervisor
 * is left out: it is other guests' work, not this machine's.
 */
function cpuSampler() {
  const read = () => {
    const [user, nice, system, idle, iowait, irq, softirq] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const busy = user + nice + system + irq + softirq;
    return { busy, total: busy + idle + iowait };
  };
  let prev = read();
  return () => {
    const now = read();
    const share = now.total > prev.total ? (now.busy - prev.busy) / (now.total - prev.total) : 0;
    prev = now;
    return share;
  };
}

/**
 * Waits until the CPUs are quiet: under 10% busy for three samples 100 ms apart. Other work on the
 * machine (and the kernel still destroying dropped namespaces) would otherwise be measured too.
 * Gives up after `capMs`. Resolves with { waitedMs, quiet }.
 */
async function waitForQuiet(capMs, log) {
  const start = Date.now();
  const busy = cpuSampler();
  const seen = [];
  let quiet = 0;
  while (quiet < 3) {
    if (Date.now() - start > capMs) {
      log?.(`CPUs still busy after ${capMs / 1000} s (busy %: ${seen.slice(-10).join(' ')}); going on`);
      return { waitedMs: Date.now() - start, quiet: false };
    }
    await sleep(100);
    const b = busy();
    seen.push(Math.round(b * 100));
    quiet = b < 0.1 ? quiet + 1 : 0;
  }
  return { waitedMs: Date.now() - start, quiet: true };
}

/**
 * Waits until the kernel has destroyed the dropped namespaces' veths, then until the CPUs are
 * quiet: the kernel goes on destroying a namespace's other state for a while after its links are
 * gone. Resolves with the milliseconds until the veths were gone and until the CPUs were quiet
 * (null if they were not within 5 s).
 */
async function waitForKernel() {
  const start = Date.now();
  await waitForVethsGone();
  const linksMs = Date.now() - start;
  const { quiet } = await waitForQuiet(5000);
  return { linksMs, quietMs: quiet ? Date.now() - start : null };
}

/**
 * Removes everything the benchmark may have made: every namespace file, the given bridges; then
 * waits for the links to go. Never throws: it is the cleanup of last resort.
 */
async function sweep(bridges) {
  const problems = [];
  for (const name of namespaces()) {
    try {
      ip(['netns', 'del', name]);
    } catch (err) {
      problems.push(`netns ${name}: ${err.message.split('\n')[0]}`);
    }
  }
  for (const bridge of bridges) deleteBridge(bridge);
  try {
    await waitForVethsGone(60000);
  } catch (err) {
    problems.push(err.message);
  }
  return problems;
}

/** prepare() / finish() for a method that works on a bridge the benchmark makes itself. */
function ownBridge(network) {
  return {
    async prepare() {
      createBridge(network.bridge, gatewayOf(network).gatewayCidr);
    },
    async finish() {
      deleteBridge(network.bridge);
    },
  };
}

module.exports = {
  ownBridge,
  NETNS_DIR,
  ip,
  ipJson,
  createBridge,
  deleteBridge,
  hostVeths,
  bridgePorts,
  bridgeRxPackets,
  namespaces,
  waitForVethsGone,
  waitForKernel,
  waitForQuiet,
  sweep,
  sleep,
};
