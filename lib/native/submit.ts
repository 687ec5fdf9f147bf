// Every batch goes through one queue with a few batches in flight. Building, checking and
// converting a batch happens when it is sent, not when it is asked for, so that thousands of
// calls made in one tick cost the event loop almost nothing at once; and since the kernel
// serialises most of this work, more batches in flight would only take CPU from the JS thread.
import { closeSync } from 'node:fs';
import createDebug from '../util/debug';
import { injectedError, takeFault } from './faults';
import { loadBinding } from './loader';
import type { DnsSockets, NativeOp, NativeResult } from './types';
import { validateOp } from './validate';

const debug = createDebug('cnm:native');

/** How many batches run on worker threads at once. */
export const MAX_IN_FLIGHT = 2;

interface Job {
  prepare: () => NativeOp[];
  resolve: (results: NativeResult[]) => void;
  reject: (err: unknown) => void;
}

const queue: Job[] = [];
let head = 0;
let inFlight = 0;
/** Callers of backlog.atMost(n), told once at most n batches wait. */
let drainWaiters: { n: number; resolve: () => void }[] = [];

function pump(): void {
  while (inFlight < MAX_IN_FLIGHT && head < queue.length) {
    const job = queue[head];
    queue[head++] = undefined as unknown as Job; // let it be collected
    if (head === queue.length) queue.length = head = 0;
    if (drainWaiters.length > 0) tellDrained();
    let running: Promise<NativeResult[]>;
    try {
      const ops = job.prepare();
      ops.forEach(validateOp);
      running = execute(ops);
    } catch (err) {
      job.reject(err);
      continue;
    }
    inFlight += 1;
    running.then(job.resolve, job.reject).finally(() => {
      inFlight -= 1;
      pump();
      if (inFlight === 0) dropKeptSocketsWhenIdle();
    });
  }
}

function tellDrained(): void {
  const waiting = queue.length - head;
  const told = drainWaiters.filter((w) => w.n >= waiting);
  if (told.length === 0) return;
  drainWaiters = drainWaiters.filter((w) => w.n < waiting);
  for (const w of told) w.resolve();
}

/** The batches queued and not yet sent to a worker thread (see Kernel.backlog). */
export const backlog = {
  get size(): number {
    return queue.length - head;
  },
  atMost(n: number): Promise<void> {
    if (queue.length - head <= n) return Promise.resolve();
    return new Promise((resolve) => drainWaiters.push({ n, resolve }));
  },
};

/** How long the addon may keep a new namespace's socket (for its next batch) once batches stop. */
const KEEP_IDLE_MS = 1000;
let idleTimer: NodeJS.Timeout | null = null;

/**
 * A socket the addon keeps for a new namespace's next batch pins that namespace: once no batch
 * has run for a while, they are all closed, so that a namespace deleted by someone else goes.
 */
function dropKeptSocketsWhenIdle(): void {
  if (idleTimer) idleTimer.refresh();
  else idleTimer = setTimeout(dropIfIdle, KEEP_IDLE_MS).unref();
}

function dropIfIdle(): void {
  idleTimer = null;
  if (inFlight > 0) return dropKeptSocketsWhenIdle();
  try {
    loadBinding().dropKeptSockets();
  } catch (err) {
    debug('dropping kept sockets: %s', (err as Error).message); // a timer must never throw
  }
}

/**
 * Runs the ops on a worker thread, or, with a fault pending inside them, those before it and then
 * fails as the addon does: the DNS sockets handed out before the failure are closed.
 */
function execute(ops: NativeOp[]): Promise<NativeResult[]> {
  const fault = takeFault(ops.length);
  if (fault < 0) return loadBinding().execute(ops);
  const before = fault > 0 ? loadBinding().execute(ops.slice(0, fault)) : Promise.resolve([]);
  return before.then((results) => {
    for (const r of results) if (isDnsSockets(r)) [r.udp, r.tcp, r.netns].forEach((fd) => closeSync(fd));
    return Promise.reject(injectedError(ops[fault].op, fault));
  });
}

/** Whether a batch result is a `dnsSockets` op's (descriptors the batch's caller must close or hand on). */
export function isDnsSockets(result: NativeResult): result is DnsSockets {
  return typeof result === 'object' && result !== null && 'udpPort' in result;
}

/**
 * Queues a batch. `prepare` builds its operations when its turn comes (errors it throws reject
 * the returned promise); they are validated, then run in order on a worker thread.
 */
export function submit(prepare: () => NativeOp[]): Promise<NativeResult[]> {
  return new Promise((resolve, reject) => {
    queue.push({ prepare, resolve, reject });
    pump();
  });
}
