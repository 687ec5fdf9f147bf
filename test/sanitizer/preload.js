// Loaded with `node -r` into the jest process of npm run test:sanitizers / test:asan / test:ubsan,
// which starts with the sanitizer runtime in LD_PRELOAD (the dynamic loader has read it by now).
// Takes it out of the environment, so that ip, nft, nsenter and other helpers the tests run are
// not instrumented, and points process.execPath at ./node, which puts it back for the node
// processes the tests start (crash worker, examples, fixtures), since they load the instrumented
// addon too.
'use strict';
const path = require('node:path');

process.env.CNM_SANITIZER_PRELOAD = process.env.LD_PRELOAD || '';
process.env.CNM_SANITIZER_NODE = process.execPath;
delete process.env.LD_PRELOAD;
process.execPath = path.join(__dirname, 'node');
