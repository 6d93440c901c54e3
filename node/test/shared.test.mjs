// Shared state on a real redis-server: 4 worker processes (child_process.fork of
// shared-worker.mjs) x 8 callbacks started at once against one fake portal. One idempotency key
// places one call, one number one call within its cooldown, one leaky bucket paces them all,
// one OAuth pair is refreshed once; an unreachable Redis refuses before anything is sent, and
// a Redis URL's password never shows.
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import path from 'node:path'
import util from 'node:util'
import { after, before, test } from 'node:test'

import { nodeDir, pkg, rejectsWith, startPortal, startRedis, throwsWith } from './helpers.mjs'

const { Client } = pkg
const PROCESSES = 4
const THREADS = 8
const TEXT = 'A visitor asked for a call back'

let redis
let portal // burst 10, drain 10/s: small enough for the pacing to show
let workers = []

/**
 * A distinct number the fake portal answers after ringing (index 0..899): the NANP fictional
 * block 555-0100..0199 of area codes other than 201, whose 555-0101..0106 are its magic numbers.
 */
const AREAS = [202, 212, 213, 312, 415, 617, 646, 718, 917]
const number = (i) => `+1${AREAS[Math.floor(i / 100) % AREAS.length]}55501${String(i % 100).padStart(2, '0')}`

/** The options every worker's webhook client gets. */
const options = (extra = {}) => ({
  webhookUrl: portal.info.webhook_url,
  sharedState: redis.url,
  rateLimit: { burst: 10, perSecond: 10 },
  deadlineMs: 20000,
  timeoutMs: 5000,
  connectTimeoutMs: 2000,
  ...extra,
})

/** Forks one worker and resolves once its addon is loaded; `ask(op)` answers one message. */
function startWorker() {
  const child = fork(path.join(nodeDir, 'test', 'shared-worker.mjs'), [], {
    execArgv: [],
    // Eight calls at once really run at once (the pool has 4 threads by default).
    env: { ...process.env, UV_THREADPOOL_SIZE: String(THREADS) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waiting = new Map()
  let next = 0
  const ready = new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      const e = new Error(`a worker exited (${signal || code})`)
      reject(e)
      for (const w of waiting.values()) w.reject(e)
    })
    child.on('message', (msg) => {
      if (msg.ready) return resolve()
      const w = waiting.get(msg.id)
      waiting.delete(msg.id)
      if (msg.ok) w.resolve(msg.value)
      else w.reject(new Error(`worker: ${msg.error}`))
    })
  })
  const ask = (op) => new Promise((resolve, reject) => {
    const id = next++
    waiting.set(id, { resolve, reject })
    child.send({ id, ...op })
  })
  return ready.then(() => ({ child, ask }))
}

/** Every worker builds client `name`. */
const everyWorker = (name, kind, config) => Promise.all(workers.map((w) => w.ask({ op: 'client', name, kind, config })))

/**
 * Every worker starts `requests(worker)` at the same moment; resolves with each worker's
 * answer, the outcomes flattened, and the time from the start to the last outcome.
 */
async function atOnce(client, requests) {
  const at = Date.now() + 300
  const answers = await Promise.all(workers.map((w, i) => w.ask({ op: 'run', client, at, requests: requests(i) })))
  const results = answers.flatMap((a) => a.results)
  const elapsedMs = Math.max(...answers.map((a) => a.finished)) - at
  return { answers, results, elapsedMs }
}

const keyed = (to, idempotencyKey) => ({ line: 'reg1', to, text: TEXT, idempotencyKey })
const plain = (to) => ({ line: 'reg1', to, text: TEXT })
const eightOf = (f) => (w) => Array.from({ length: THREADS }, (_, t) => f(w, t))

before(async () => {
  redis = await startRedis()
  portal = await startPortal(['--burst', '10', '--drain', '10', '--stage-ms', '40'])
  workers = await Promise.all(Array.from({ length: PROCESSES }, startWorker))
  await everyWorker('webhook', 'webhook', options())
})

after(async () => {
  for (const w of workers) w.child.kill()
  portal?.stop()
  await redis?.close()
})

test('one idempotency key from 4 processes x 8 callbacks places exactly one call', async () => {
  const before = (await portal.ledger()).length
  const { results } = await atOnce('webhook', eightOf(() => keyed(number(0), 'shared-form-1')))
  assert.equal(results.length, PROCESSES * THREADS)
  for (const r of results) assert.ok(r.ok, `started or replayed: ${JSON.stringify(r)}`)
  assert.equal(results.filter((r) => !r.deduplicated).length, 1, 'exactly one start was new')
  assert.equal(results.filter((r) => r.deduplicated).length, PROCESSES * THREADS - 1)
  assert.equal(new Set(results.map((r) => r.callId)).size, 1, 'every answer names the one call')
  assert.equal((await portal.ledger()).length, before + 1, 'exactly one call in the ledger')
})

test('one number under 32 keys: one call, 31 destination_blocked by the cooldown', async () => {
  const before = (await portal.ledger()).length
  const { results } = await atOnce('webhook', eightOf((w, t) => keyed(number(1), `shared-number-${w}-${t}`)))
  const ok = results.filter((r) => r.ok)
  assert.equal(ok.length, 1, JSON.stringify(results.filter((r) => r.ok || r.code !== 'destination_blocked')))
  assert.equal(ok[0].deduplicated, false)
  const refused = results.filter((r) => !r.ok)
  assert.equal(refused.length, PROCESSES * THREADS - 1)
  for (const r of refused) {
    assert.equal(r.code, 'destination_blocked', JSON.stringify(r))
    assert.equal(r.retrySafe, true)
    assert.deepEqual(r.violations, [['TO_NUMBER', 'cooldown']])
  }
  assert.equal((await portal.ledger()).length, before + 1)
})

test('32 numbers from 4 processes are paced through one bucket: no QUERY_LIMIT_EXCEEDED', async () => {
  // Let both buckets drain what the tests above put in them.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const stats = await portal.stats()
  const { results, elapsedMs } = await atOnce('webhook', eightOf((w, t) => plain(number(100 + w * THREADS + t))))
  for (const r of results) {
    assert.ok(r.ok, `paced, not refused: ${JSON.stringify(r)}`)
    assert.equal(r.attempts, 1, 'one attempt each')
  }
  const now = await portal.stats()
  assert.equal(now.rate_limited, 0, 'the portal never answered QUERY_LIMIT_EXCEEDED')
  assert.equal(now.callback_requests - stats.callback_requests, PROCESSES * THREADS, 'no retries')
  // Nine go at once, the other 23 one per 1 / (10 x 0.98) s.
  const floorMs = (23 / (10 * 0.98)) * 1000
  assert.ok(elapsedMs >= floorMs * 0.95, `paced by one bucket: ${elapsedMs} ms < ${floorMs} ms`)
  assert.ok(elapsedMs < floorMs * 3, `and not much slower: ${elapsedMs} ms`)
})

test('one OAuth pair in 4 processes, access token expired: exactly one refresh, every call succeeds', async () => {
  const fast = await startPortal(['--burst', '1000', '--drain', '1000', '--stage-ms', '40'])
  try {
    const t = await fast.admin('POST', 'oauth/tokens')
    const config = {
      clientId: t.client_id,
      clientSecret: t.client_secret,
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      clientEndpoint: t.client_endpoint,
      serverEndpoint: t.server_endpoint,
      sharedState: redis.url,
      rateLimit: 'off',
      deadlineMs: 10000,
      timeoutMs: 5000,
    }
    await everyWorker('oauth', 'oauth', config)
    // Every process has used (and shared) the pair before it expires.
    for (const [i, w] of workers.entries()) {
      const { results } = await w.ask({ op: 'run', client: 'oauth', at: 0, requests: [plain(number(200 + i))] })
      assert.ok(results[0].ok, JSON.stringify(results[0]))
    }
    await fast.admin('POST', 'oauth/expire')
    const refreshes = (await fast.stats()).refreshes
    const { answers, results } = await atOnce('oauth', eightOf((w, t) => plain(number(210 + w * THREADS + t))))
    for (const r of results) assert.ok(r.ok, `every call succeeds: ${JSON.stringify(r)}`)
    assert.equal((await fast.stats()).refreshes - refreshes, 1, 'exactly one refresh at the portal')
    const hooks = answers.reduce((sum, a) => sum + a.tokensSeen, 0)
    assert.equal(hooks, 1, 'onTokens ran once, in the process that refreshed')
    assert.equal((await fast.ledger()).length, PROCESSES + PROCESSES * THREADS)
  } finally {
    fast.stop()
  }
})

test('Redis killed while a client is in use: shared_state_unavailable, nothing sent; then normal service', async () => {
  const own = await startRedis()
  try {
    const client = new Client({ ...options(), sharedState: own.url, rateLimit: 'standard' })
    const first = await client.startCallback(keyed(number(300), 'outage-a'))
    await own.stop()
    const sent = (await portal.stats()).callback_requests
    for (const call of [
      () => client.startCallback(keyed(number(301), 'outage-b')),
      () => client.startCallback(keyed(number(300), 'outage-a')),
      () => client.startCallback(plain(number(302))),
      () => client.lines(),
    ]) {
      const e = await rejectsWith(call(), 'shared_state_unavailable')
      assert.equal(e.retrySafe, true)
      assert.ok(e instanceof Error)
    }
    // A refusal without a network round trip to the portal is also what checkCallback says.
    await rejectsWith(client.checkCallback(keyed(number(303), 'outage-c')), 'shared_state_unavailable')
    assert.equal((await portal.stats()).callback_requests, sent, 'nothing reached the portal')

    await own.resume()
    const again = await client.startCallback(keyed(number(300), 'outage-a'))
    assert.equal(again.deduplicated, true, 'the key written before the outage is still known')
    assert.equal(again.callId, first.callId)
    const b = await client.startCallback(keyed(number(301), 'outage-b'))
    assert.equal(b.deduplicated, false)
    assert.equal((await portal.stats()).callback_requests, sent + 1, 'one new call, nothing placed twice')
  } finally {
    await own.close()
  }
})

test('sharedStatePrefix separates state; a bad prefix is refused', async () => {
  const a = new Client({ ...options(), sharedStatePrefix: 'shop-a:' })
  const b = new Client({ ...options(), sharedStatePrefix: 'shop-b:' })
  const first = await a.startCallback(keyed(number(400), 'prefixed'))
  assert.equal((await a.startCallback(keyed(number(400), 'prefixed'))).deduplicated, true)
  const other = await b.startCallback(keyed(number(400), 'prefixed'))
  assert.equal(other.deduplicated, false, 'another prefix is another state')
  assert.notEqual(other.callId, first.callId)
  const e = throwsWith(() => new Client({ ...options(), sharedStatePrefix: 'caf\u00e9:' }), 'invalid_request')
  assert.deepEqual(e.violations.map((v) => [v.field, v.code]), [['sharedStatePrefix', 'invalid_character']])
})

test('a bad sharedState URL is invalid_request; a password never shows', async () => {
  for (const sharedState of ['http://127.0.0.1:6379', 'redis://:s3cretpw@[::1', 's3cretpw', '']) {
    const e = throwsWith(() => new Client({ ...options(), sharedState }), 'invalid_request')
    assert.deepEqual(e.violations.map((v) => [v.field, v.code]), [['sharedState', 'invalid_url']], sharedState)
    assert.equal(e.retrySafe, true)
    for (const text of [e.message, util.inspect(e), JSON.stringify(e.violations)]) {
      assert.doesNotMatch(text, /s3cretpw/)
    }
  }
  // Violations are listed with the others, in the core's order.
  const both = throwsWith(() => new Client({ ...options(), timeoutMs: -1, sharedState: 'nope' }), 'invalid_request')
  assert.deepEqual(both.violations.map((v) => v.field), ['timeoutMs', 'sharedState'])
  // A value of the wrong type is a TypeError, as for every option.
  assert.throws(() => new Client({ ...options(), sharedState: 6379 }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE')

  // A good URL with a password (nothing listens there): the client, its errors, nothing shows it.
  const client = new Client({ ...options(), sharedState: 'redis://:s3cretpw@127.0.0.1:1/0' })
  for (const text of [util.inspect(client), String(client), JSON.stringify(client)]) {
    assert.doesNotMatch(text ?? '', /s3cretpw/)
  }
  const e = await rejectsWith(client.startCallback(keyed(number(500), 'password-form')), 'shared_state_unavailable')
  assert.equal(e.retrySafe, true)
  for (const text of [e.message, util.inspect(e), e.stack]) assert.doesNotMatch(text, /s3cretpw/)
})
