// Child of lib/cnm-trace.js, run under strace: the CNM path for N containers, sequentially, with a
// marker before every step so that the trace can be cut into steps. A marker is an access(2) of a
// path that does not exist (/cnm-bench-mark/<label>); strace shows it in order with the netlink
// calls, which the worker thread has finished by the time the step's promise resolves.
// usage: node cnm-trace-child.js N WORKDIR
'use strict';
const fs = require('node:fs');
const { makeNetwork } = require('../methods/cnm');
const { NETWORKS } = require('./network');

const mark = (label) => {
  try {
    fs.accessSync(`/cnm-bench-mark/${label}`);
  } catch {
    // always: the path does not exist
  }
};

async function main() {
  const n = Number(process.argv[2]);
  const dir = process.argv[3];
  const { controller, network } = await makeNetwork(dir, NETWORKS.cnmTrace, 'cnmtrace');
  const made = [];
  for (let i = 0; i < n; i++) {
    const id = `${NETWORKS.cnmTrace.prefix}-${i}`;
    mark(`c${i}/newSandbox`);
    const sandbox = await controller.newSandbox(id);
    mark(`c${i}/createEndpoint`);
    const endpoint = await network.createEndpoint(id);
    mark(`c${i}/join`);
    await endpoint.join(sandbox);
    made.push({ sandbox, endpoint });
  }
  for (let i = 0; i < n; i++) {
    mark(`c${i}/sandbox.delete`);
    await made[i].sandbox.delete();
    mark(`c${i}/endpoint.delete`);
    await made[i].endpoint.delete();
  }
  mark('end');
  await network.delete();
  await controller.stop();
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
