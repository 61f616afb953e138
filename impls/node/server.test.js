// The pure functions of server.js, its worker pool and its upstream call: `node --test impls/node/`.
'use strict';

const assert = require('node:assert/strict');
const http = require('node:http');
const test = require('node:test');

const { sumTo, fib, client, clientsBody, Pool, intParam, LIMITS, handle } = require('./server.js');

const strs = (n) => Array.from({ length: n }, (_, i) => `str${i + 1}`);

test('sumTo adds every term of range(n), exactly up to the limit', () => {
  assert.equal(sumTo(0), 0);
  assert.equal(sumTo(1), 0);
  assert.equal(sumTo(5), 10);
  assert.equal(sumTo(5_000_000), 12_499_997_500_000);
  // the largest allowed n still gives a sum below 2**53, so the double is exact
  assert.ok(Number.isSafeInteger(LIMITS.n * (LIMITS.n - 1) / 2));
});

test('fib is the naive recursion with fib(0) = 0, fib(1) = 1', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 10].map(fib), [0, 1, 1, 2, 3, 5, 8, 55]);
  assert.equal(fib(25), 75025);
});

test('a client has the article models\' keys, id i everywhere and null strings', () => {
  const c = client(7);
  assert.deepEqual(Object.keys(c), ['id', 'address', 'bank_accounts', ...strs(8)]);
  assert.deepEqual(Object.keys(c.address), ['id', ...strs(8)]);
  assert.equal(c.bank_accounts.length, 1);
  assert.deepEqual(Object.keys(c.bank_accounts[0]), ['id', 'address', ...strs(16)]);
  assert.deepEqual([c.id, c.address.id, c.bank_accounts[0].id], [7, 7, 7]);
  assert.equal(c.bank_accounts[0].address, null);
  for (const key of strs(8)) assert.equal(c[key], null);
});

test('clientsBody is the whole answer as JSON', () => {
  const body = JSON.parse(clientsBody('json_large', 3));
  assert.equal(body.kind, 'json_large');
  assert.equal(body.count, 3);
  assert.deepEqual(body.items.map((c) => c.id), [0, 1, 2]);
  assert.deepEqual(JSON.parse(clientsBody('json_large', 0)).items, []);
});

test('intParam takes digits only, within the limit', () => {
  const q = (s) => new URLSearchParams(s);
  assert.equal(intParam(q('n=0'), 'n'), 0);
  assert.equal(intParam(q('n=007'), 'n'), 7);
  assert.equal(intParam(q(`n=${LIMITS.fib}`), 'n', 'fib'), LIMITS.fib);
  for (const bad of ['', 'n=', 'n=-1', 'n=1.5', 'n=1e3', 'n=%201', 'n=0x10', 'm=1',
                     `n=${LIMITS.n + 1}`]) {
    assert.throws(() => intParam(q(bad), 'n'), /expected \?n=/, bad);
  }
  assert.throws(() => intParam(q(`n=${LIMITS.fib + 1}`), 'n', 'fib'), /at most 78/);
});

test('the pool runs tasks on at most `size` threads and queues the rest', async () => {
  const pool = new Pool(2);
  const ns = [10, 20, 30, 40, 50];
  const results = await Promise.all(ns.map((n) => pool.run({ type: 'sum', n })));
  assert.deepEqual(results, ns.map(sumTo));
  assert.equal(pool.started, 2);
  const body = await pool.run({ type: 'clients', kind: 'json_large_offloaded', count: 2 });
  assert.equal(JSON.parse(body).count, 2);
});

test('a task that kills its thread fails alone; the pool replaces the thread', async () => {
  const pool = new Pool(1);
  await assert.rejects(pool.run({ type: 'no-such-task' }), TypeError);
  assert.equal(await pool.run({ type: 'sum', n: 4 }), 6);
  assert.equal(pool.started, 1);
});

// --- upstream_async, against a fake upstream ---------------------------------------------

// Starts a node:http server on a free port; resolves to its base URL and a close function.
async function listen(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}

// GETs path from server.js's own handler with BENCH_UPSTREAM_URL = upstream.
async function getApp(path, upstream) {
  const saved = process.env.BENCH_UPSTREAM_URL;
  if (upstream === undefined) delete process.env.BENCH_UPSTREAM_URL;
  else process.env.BENCH_UPSTREAM_URL = upstream;
  const app = await listen(handle);
  try {
    const res = await fetch(app.url + path);
    assert.equal(res.headers.get('content-type'), 'application/json');
    return { status: res.status, body: await res.json() };
  } finally {
    await app.close();
    if (saved === undefined) delete process.env.BENCH_UPSTREAM_URL;
    else process.env.BENCH_UPSTREAM_URL = saved;
  }
}

test('upstream_async passes on the upstream\'s object for a fresh nonce', async (t) => {
  const queries = [];
  const upstream = await listen((req, res) => {
    const q = new URL(req.url, 'http://x').searchParams;
    queries.push(req.url);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ nonce: q.get('nonce'), ms: Number(q.get('ms')), at: 1700000000.123456, sig: 'abc' }));
  });
  t.after(upstream.close);
  const { status, body } = await getApp('/upstream_async?ms=25', `${upstream.url}/`);
  assert.equal(status, 200);
  assert.deepEqual(Object.keys(body), ['kind', 'ms', 'nonce', 'upstream']);
  assert.equal(body.kind, 'upstream_async');
  assert.equal(body.ms, 25);
  assert.match(body.nonce, /^[0-9a-f]{32}$/);
  assert.deepEqual(body.upstream, { nonce: body.nonce, ms: 25, at: 1700000000.123456, sig: 'abc' });
  assert.deepEqual(queries, [`/delay?ms=25&nonce=${body.nonce}`]);
  const again = await getApp('/upstream_async?ms=0', upstream.url);
  assert.notEqual(again.body.nonce, body.nonce);
});

test('upstream_async: 503 without BENCH_UPSTREAM_URL, 502 when the upstream fails', async (t) => {
  assert.deepEqual(await getApp('/upstream_async?ms=1', undefined),
                   { status: 503, body: { error: 'BENCH_UPSTREAM_URL is not set', status: 503 } });
  const refusing = await listen(() => {});
  await refusing.close(); // nothing listens there any more
  const bad = await listen((req, res) => {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end('{"error": "expected ?ms= at most 60000", "status": 400}');
  });
  t.after(bad.close);
  const notObject = await listen((req, res) => res.end('[1, 2]'));
  t.after(notObject.close);
  for (const [url, mention] of [[refusing.url, /ECONNREFUSED/], [bad.url, /upstream answered 400/],
                                [notObject.url, /no JSON object/]]) {
    const { status, body } = await getApp('/upstream_async?ms=1', url);
    assert.equal(status, 502, url);
    assert.equal(body.status, 502);
    assert.match(body.error, mention);
  }
  const { status } = await getApp('/upstream_async?ms=60001', bad.url);
  assert.equal(status, 400); // checked before any call, like every parameter here
});
