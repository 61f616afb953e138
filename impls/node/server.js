// The Node.js side of the concurrency benchmark: the endpoint contract of
// docs/formats.md served by node:http with the standard library only, so it can be read
// side by side with the FastAPI, Flask and Go versions.
//
// Node has one event loop per process, like asyncio: `await setTimeout(ms)` lets the
// loop serve others, while a blocking wait (Atomics.wait) or a long loop on it stalls
// every request of the process. CPU work leaves the loop only through worker_threads
// (each thread its own V8 isolate: no shared lock, unlike Python's GIL), here a pool
// sized to the cores that cpu_process and json_large_offloaded await. Several processes
// come from node:cluster (--workers W). Every body proves its work was done (the
// measured wait, the loop's sum, fib(n), the items), so the runner can reject an
// endpoint that skips it.
//
// upstream_async waits on the upstream service (services/upstream, BENCH_UPSTREAM_URL)
// with Node's global fetch on its default dispatcher, untuned: undici opens as many
// connections per origin as requests need. The answer carries the upstream's signed
// nonce, which only the real call can give.
//
// Usage: node server.js --host 127.0.0.1 --port PORT [--workers W]

'use strict';

const cluster = require('node:cluster');
const crypto = require('node:crypto');
const http = require('node:http');
const os = require('node:os');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { parseArgs } = require('node:util');
const { Worker, isMainThread, parentPort } = require('node:worker_threads');

// --- the work itself: pure functions, also run inside the worker threads ---------------

// sum(range(n)) by a loop that adds every term; the result is sent back, so the loop
// cannot be dropped. A JS number is a double: exact while the sum stays below 2**53,
// which LIMITS.n guarantees.
function sumTo(n) {
  let total = 0;
  for (let i = 0; i < n; i++) total += i;
  return total;
}

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

// The models of the large-response article, written as literals so that every object of a kind
// shares one V8 hidden class; item i has id i everywhere and every strN is null.
function address(i) {
  return { id: i, str1: null, str2: null, str3: null, str4: null,
           str5: null, str6: null, str7: null, str8: null };
}

function account(i) {
  return { id: i, address: null,
           str1: null, str2: null, str3: null, str4: null, str5: null, str6: null,
           str7: null, str8: null, str9: null, str10: null, str11: null, str12: null,
           str13: null, str14: null, str15: null, str16: null };
}

function client(i) {
  return { id: i, address: address(i), bank_accounts: [account(i)],
           str1: null, str2: null, str3: null, str4: null,
           str5: null, str6: null, str7: null, str8: null };
}

// The whole json_large answer as a string: building and JSON.stringify both run on
// whichever thread calls this.
function clientsBody(kind, count) {
  const items = new Array(count);
  for (let i = 0; i < count; i++) items[i] = client(i);
  return JSON.stringify({ kind, count, items });
}

// What a worker thread can be asked to do.
const TASKS = {
  sum: ({ n }) => sumTo(n),
  clients: ({ kind, count }) => clientsBody(kind, count),
};

// --- a fixed-size worker_threads pool with a queue ---------------------------------------

// All `size` threads start on first use (a server that never offloads pays nothing), so
// that starting them is not timed inside a measurement; a task that finds every thread
// busy waits in the queue. Results (a number, or the finished JSON string) come back by
// postMessage, which copies them.
class Pool {
  constructor(size) {
    this.size = size;
    this.idle = [];
    this.started = 0;
    this.queue = [];
  }

  run(task) {
    if (this.started === 0) while (this.started < this.size) this.spawn();
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.pump();
    });
  }

  pump() {
    while (this.queue.length > 0) {
      if (this.idle.length === 0 && this.started < this.size) this.spawn(); // replace a dead one
      const worker = this.idle.pop();
      if (!worker) return;
      worker.job = this.queue.shift();
      worker.ref(); // a running task keeps the process alive, an idle thread does not
      worker.postMessage(worker.job.task);
    }
  }

  spawn() {
    const worker = new Worker(__filename);
    this.started++;
    worker.on('message', (result) => {
      const job = worker.job;
      worker.job = null;
      worker.unref();
      this.idle.push(worker);
      job.resolve(result);
      this.pump();
    });
    worker.on('error', (err) => { // the thread is gone: fail its task, start another later
      this.started--;
      const job = worker.job;
      worker.job = null;
      this.idle = this.idle.filter((w) => w !== worker);
      if (job) job.reject(err);
      this.pump();
    });
    worker.unref(); // after on('message'), which refs it
    this.idle.push(worker);
  }
}

const POOL_SIZE = os.availableParallelism();
const pool = new Pool(POOL_SIZE);

// --- HTTP --------------------------------------------------------------------------------

// Upper bounds keep a typo from hanging the server or answering a wrong number:
// n <= 2**27 keeps sum(range(n)) below 2**53 (exact in a double), fib(78) is the largest
// Fibonacci number below 2**53, and 500,000 items (about 250 MB of JSON) stay well under
// V8's longest string (2**29 - 24 characters). io_ms is the upstream's own limit (60 s).
const LIMITS = { ms: 3_600_000, io_ms: 60_000, n: 2 ** 27, fib: 78, items: 500_000 };

class BadParam extends Error {}

// An error answered with its own status and message (503, 502), not logged.
class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The query parameter `name` as an integer in 0..LIMITS[limit], else BadParam (400).
function intParam(query, name, limit = name) {
  const raw = query.get(name);
  if (raw === null || !/^[0-9]+$/.test(raw)) { // digits only: no sign, no spaces, no "1e3"
    throw new BadParam(`expected ?${name}= a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  const value = Number(raw);
  if (value > LIMITS[limit]) {
    throw new BadParam(`expected ?${name}= at most ${LIMITS[limit]}, got ${raw}`);
  }
  return value;
}

// slept_ms is measured around the wait. Node's timers count whole milliseconds of the
// loop's clock, so an awaited setTimeout(ms) can end up to 1 ms short of ms by
// performance.now() (the runner's check allows 2 ms for clock granularity).
async function timedWait(kind, query, wait) {
  const ms = intParam(query, 'ms');
  const started = performance.now(); // monotonic
  await wait(ms);
  return { kind, ms, slept_ms: performance.now() - started };
}

// Calls the upstream's /delay with a fresh nonce and returns its JSON object as received;
// the runner checks the nonce's signature. BENCH_UPSTREAM_URL is read at each call (the
// runner sets it once, at start), so a server without it still serves everything else.
async function upstreamAsync(query) {
  const base = (process.env.BENCH_UPSTREAM_URL ?? '').replace(/\/+$/, '');
  if (!base) throw new HttpError(503, 'BENCH_UPSTREAM_URL is not set');
  const ms = intParam(query, 'ms', 'io_ms');
  const nonce = crypto.randomBytes(16).toString('hex');
  let status, text;
  try {
    const res = await fetch(`${base}/delay?${new URLSearchParams({ ms: String(ms), nonce })}`);
    status = res.status;
    text = await res.text(); // read to the end: the connection goes back to the agent
  } catch (err) {
    throw new HttpError(502, `upstream: ${err.message}${err.cause ? `: ${err.cause.message ?? err.cause}` : ''}`);
  }
  if (status !== 200) throw new HttpError(502, `upstream answered ${status}: ${text.slice(0, 200)}`);
  let upstream;
  try {
    upstream = JSON.parse(text);
  } catch {
    upstream = null;
  }
  if (upstream === null || typeof upstream !== 'object' || Array.isArray(upstream)) {
    throw new HttpError(502, `upstream answered no JSON object: ${text.slice(0, 200)}`);
  }
  return { kind: 'upstream_async', ms, nonce, upstream };
}

// One Int32Array that nobody ever notifies: Atomics.wait on it sleeps the whole thread.
const neverNotified = new Int32Array(new SharedArrayBuffer(4));

function info() {
  return {
    impl: 'node',
    language: 'javascript',
    language_version: process.versions.node,
    framework: 'node:http',
    framework_version: process.versions.node, // node:http ships with Node
    server_software: { node: process.version },
    pid: process.pid, // in cluster mode, the worker process that answered
    cpu_count: os.cpus().length,
    server_label: process.env.BENCH_SERVER ?? null,
    pools: {
      'worker-threads': { size: POOL_SIZE, kind: 'threads' },
      // fetch's global dispatcher: no cap on connections per origin (undici's default)
      'undici-agent': { size: null, kind: 'connections' },
    },
    parallelism: null,
    lock_switch_interval_s: null,
  };
}

// Each route returns the body: an object to encode, or a finished JSON string.
const ROUTES = {
  '/hello': () => ({ message: 'hello' }),
  '/info': info,
  // the loop serves other requests while the timer runs
  '/async_sleep': (q) => timedWait('async_sleep', q, (ms) => sleep(ms)),
  // on purpose: blocks the event loop, so the process serves one request at a time
  '/blocking_in_async': (q) => timedWait('blocking_in_async', q, async (ms) => {
    Atomics.wait(neverNotified, 0, 0, ms);
  }),
  '/cpu_in_async': (q) => {
    const n = intParam(q, 'n');
    return { kind: 'cpu_in_async', n, result: sumTo(n) }; // on the event loop
  },
  '/cpu_process': async (q) => {
    const n = intParam(q, 'n');
    return { kind: 'cpu_process', n, result: await pool.run({ type: 'sum', n }) };
  },
  '/fib': (q) => {
    const n = intParam(q, 'n', 'fib');
    return { kind: 'fib', n, result: fib(n) }; // on the event loop
  },
  '/json_large': (q) => clientsBody('json_large', intParam(q, 'items')), // on the event loop
  '/json_large_offloaded': (q) => {
    const count = intParam(q, 'items');
    return pool.run({ type: 'clients', kind: 'json_large_offloaded', count });
  },
  '/upstream_async': upstreamAsync, // the loop serves other requests while fetch waits
};

function send(res, status, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(text);
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const route = ROUTES[url.pathname];
  if (!route) return send(res, 404, { error: `no such path ${url.pathname}`, status: 404 });
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return send(res, 405, { error: `expected GET, got ${req.method}`, status: 405 });
  }
  try {
    send(res, 200, await route(url.searchParams));
  } catch (err) {
    if (err instanceof BadParam) return send(res, 400, { error: err.message, status: 400 });
    if (err instanceof HttpError) return send(res, err.status, { error: err.message, status: err.status });
    console.error(err);
    send(res, 500, { error: String(err), status: 500 });
  }
}

function serve(host, port) {
  const server = http.createServer({
    // Node checks its idle and header timers in the timers phase, before it reads the
    // sockets that became readable meanwhile; after a long block of the loop (100
    // queued 1 s blocking_in_async requests) it would close keep-alive connections whose
    // next request is already waiting unread. Go's net/http has none of these limits by
    // default; switch them off so the benchmark measures the blocked loop, not a timer.
    keepAliveTimeout: 0,
    requestTimeout: 0,
    headersTimeout: 0,
  }, handle);
  server.listen(port, host, () => {
    console.error(`node ${process.pid} listening on ${host}:${port} (worker threads: ${POOL_SIZE})`);
  });
}

function exitOnSignals(onSignal = () => process.exit(0)) {
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function main() {
  const { values } = parseArgs({
    options: { host: { type: 'string', default: '127.0.0.1' },
               port: { type: 'string' }, workers: { type: 'string' } },
  });
  const port = Number(values.port);
  const workers = values.workers === undefined ? 0 : Number(values.workers);
  if (!/^[0-9]+$/.test(values.port ?? '') || port > 65535) {
    console.error(`error: expected --port 0..65535, got ${values.port}`);
    process.exit(2);
  }
  if (!Number.isInteger(workers) || workers < 0) {
    console.error(`error: expected --workers a non-negative integer, got ${values.workers}`);
    process.exit(2);
  }

  if (workers === 0 || cluster.isWorker) { // one process: serve here
    exitOnSignals();
    serve(values.host, port);
    return;
  }

  // The cluster primary forks the workers and serves nothing itself: on Linux it accepts
  // each connection and hands it to the workers round-robin (cluster.SCHED_RR, the
  // default), and every worker runs its own event loop and worker-thread pool.
  let stopping = false;
  const stop = (code) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    process.exit(code);
  };
  exitOnSignals(() => stop(0));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A worker that exited cleanly got the group's SIGTERM before the primary did. One
    // that died is an error: a server missing a worker would be measured at part of
    // its capacity, so stop everything rather than carry on or restart it.
    if (code !== 0) console.error(`error: worker ${worker.process.pid} died (${signal ?? code}); stopping`);
    stop(code === 0 ? 0 : 1);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
}

if (!isMainThread) {
  // A pool thread: run each task it is sent and post the result back.
  parentPort.on('message', (task) => parentPort.postMessage(TASKS[task.type](task)));
} else if (require.main === module) {
  main();
}

module.exports = { sumTo, fib, client, clientsBody, Pool, intParam, LIMITS, handle, info };
