// Shared bits of the examples: a controller in a private temp directory that is always removed
// (also when a step fails or on Ctrl-C), and a TCP echo server / client run inside a sandbox's
// network namespace with `nsenter --net=<key>`.
'use strict';
const { execFile, spawn } = require('node:child_process');
const { mkdtemp, rm } = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { NetworkController } = require('cnm-ts');
const { addressList } = require('cnm-ts/kernel');

/**
 * What an example's `main` gets.
 * @typedef {object} ExampleContext
 * @property {NetworkController} controller
 * @property {string} defaultBridge the default bridge's device name
 * @property {string} tmp the temp directory that holds the state
 * @property {AbortSignal} signal aborted by Ctrl-C
 * @property {Set<import('node:child_process').ChildProcess>} children killed at the end
 */

/**
 * Runs `main(ctx)` with a fresh NetworkController whose stateDir, runDir and etcNetnsDir live in
 * a mkdtemp directory (nothing is written to /var/lib, /run/cnm-ts or /etc) and whose default bridge device has
 * a name of its own (so a cnm0 of someone else is never reused or deleted). Afterwards, whatever
 * happened: child processes are killed, `controller.stop({ removeAll: true })` removes every
 * sandbox, endpoint, network and the bridge device, and the temp directory is removed.
 * Ctrl-C aborts `ctx.signal`, which ends the waits below, so the same cleanup runs.
 * @param {(ctx: ExampleContext) => Promise<void>} main
 */
async function runExample(main) {
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) return console.log('still cleaning up'); // a second Ctrl-C waits too
    console.log('interrupted: cleaning up');
    process.exitCode = 130;
    abort.abort(new Error('interrupted (SIGINT)'));
  };
  process.on('SIGINT', onSigint);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cnm-example-'));
  const defaultBridge = `cnm-ex${process.pid.toString(36)}`;
  const ctx = { controller: /** @type {NetworkController | null} */ (null), defaultBridge, tmp, signal: abort.signal, children: new Set() };
  try {
    ctx.controller = await NetworkController.create({
      stateDir: path.join(tmp, 'state'),
      runDir: path.join(tmp, 'run'),
      etcNetnsDir: path.join(tmp, 'etc-netns'),
      defaultBridgeName: defaultBridge,
    });
    console.log(`controller ready (state in ${tmp})`);
    abort.signal.throwIfAborted();
    await main(/** @type {ExampleContext} */ (ctx));
  } catch (err) {
    console.error(abort.signal.aborted ? `stopped: ${abort.signal.reason.message}` : err);
    process.exitCode ||= 1;
  } finally {
    for (const child of ctx.children) child.kill('SIGKILL');
    try {
      if (ctx.controller) await ctx.controller.stop({ removeAll: true });
    } catch (err) {
      console.error('cleanup:', err, /** @type {{ errors?: unknown }} */ (err).errors ?? '');
      process.exitCode ||= 1;
    }
    await rm(tmp, { recursive: true, force: true });
    process.off('SIGINT', onSigint);
    console.log('cleaned up: controller.stop({ removeAll: true }), temp dir removed');
  }
}

/**
 * The predefined network `name` (none, host or bridge), which every example's controller makes.
 * @param {NetworkController} controller
 * @param {string} name
 */
function predefinedNetwork(controller, name) {
  const network = controller.networkByName(name);
  if (!network) throw new Error(`the controller has no network ${name}`);
  return network;
}

/**
 * `argv` run inside the namespace at `netns` (a sandbox key), or as is without one.
 * @type {(netns: string | null, argv: string[]) => string[]}
 */
const inNetns = (netns, argv) => (netns ? ['nsenter', `--net=${netns}`, ...argv] : argv);

/**
 * Starts a TCP echo server on host:port inside `netns`; resolves once it listens.
 * @param {ExampleContext} ctx
 * @param {string | null} netns
 * @param {string} host
 * @param {number} port
 */
async function startEchoServer(ctx, netns, host, port) {
  ctx.signal.throwIfAborted();
  const code = `require('net').createServer((s) => s.pipe(s)).listen(${port}, '${host}', () => console.log('ready'))`;
  const [cmd, ...args] = inNetns(netns, [process.execPath, '-e', code]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  ctx.children.add(child);
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('error', reject);
    child.once('exit', (status, signal) => reject(new Error(`echo server exited (${status ?? signal})`)));
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
  });
}

/**
 * Connects from inside `netns` (or from the host without one), sends `message`, returns the reply.
 * @param {ExampleContext} ctx
 * @param {string | null} netns
 * @param {string} host
 * @param {number} port
 * @param {string} message
 */
async function tcpRequest(ctx, netns, host, port, message) {
  const code =
    `const s = require('net').connect({ host: '${host}', port: ${port}, timeout: 5000 }, () => s.end(${JSON.stringify(message)}));` +
    "s.pipe(process.stdout); s.on('timeout', () => s.destroy(new Error('timeout')));";
  const [cmd, ...args] = inNetns(netns, [process.execPath, '-e', code]);
  const { stdout } = await promisify(execFile)(cmd, args, { signal: ctx.signal, encoding: 'utf8' });
  return stdout;
}

/**
 * Like tcpRequest, to a name that the process inside `netns` looks up at 127.0.0.11, the embedded
 * DNS server (as the container's resolv.conf tells its C library to).
 * @param {ExampleContext} ctx
 * @param {string} netns
 * @param {string} name
 * @param {number} port
 * @param {string} message
 * @returns {Promise<{ address: string, reply: string }>}
 */
async function tcpRequestByName(ctx, netns, name, port, message) {
  const code =
    "const r = new (require('dns').promises.Resolver)(); r.setServers(['127.0.0.11']);" +
    `r.resolve4(${JSON.stringify(name)}).then(([ip]) => { process.stdout.write(ip + '\\n');` +
    `const s = require('net').connect({ host: ip, port: ${port}, timeout: 5000 }, () => s.end(${JSON.stringify(message)}));` +
    "s.pipe(process.stdout); s.on('timeout', () => s.destroy(new Error('timeout'))); });";
  const [cmd, ...args] = inNetns(netns, [process.execPath, '-e', code]);
  const { stdout } = await promisify(execFile)(cmd, args, { signal: ctx.signal, encoding: 'utf8' });
  const [address, ...rest] = stdout.split('\n');
  return { address, reply: rest.join('\n') };
}

/**
 * "name address/len" for each address of a namespace's interfaces, IPv4 first.
 * @param {string} netns
 */
async function addressesIn(netns) {
  const list = await addressList({ netns });
  return list.sort((a, b) => a.family - b.family).map((a) => `${a.ifname} ${a.address}/${a.prefixLength}`);
}

module.exports = { runExample, predefinedNetwork, startEchoServer, tcpRequest, tcpRequestByName, addressesIn };
