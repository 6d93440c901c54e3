// waitForOutcome waits on JS timers between single callRecord requests: waits hold no libuv
// thread (fs keeps working while four of them run), and an AbortSignal ends one at once.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, before, test } from 'node:test'

import { FAST, pkg, rejectsWith, startPortal } from './helpers.mjs'

let portal
let client
before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000', '--stage-ms', '300'])
  client = new pkg.Client({ webhookUrl: portal.info.webhook_url, ...FAST })
})
after(() => portal.stop())

const UNKNOWN = (i) => `callback.${String(i).repeat(32).slice(0, 32)}.1`

test('four concurrent waits do not delay fs.readFile (no pool thread held while waiting)', async () => {
  // The libuv pool has 4 threads by default: a wait that held one would starve fs entirely.
  const waits = [1, 2, 3, 4].map((i) => client.waitForOutcome(UNKNOWN(i), { timeoutMs: 2500 }))
  await new Promise((r) => setTimeout(r, 300))
  const slowest = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    await readFile(new URL(import.meta.url))
    slowest.push(performance.now() - t0)
    await new Promise((r) => setTimeout(r, 150))
  }
  assert.ok(Math.max(...slowest) < 500, `fs.readFile took ${slowest.map((t) => t.toFixed(1)).join(', ')} ms`)
  assert.deepEqual(await Promise.all(waits), [null, null, null, null])
})

test('a wait resolves the record once the call ends, polling single requests', async () => {
  const started = await client.startCallback({ line: 'reg1', to: '+12015550102', text: 'no answer' })
  const before = (await portal.admin('GET', 'requests')).requests.length
  const record = await client.waitForOutcome(started.callId, { timeoutMs: 10000 })
  assert.equal(record.outcome, 'no_answer')
  const polls = (await portal.admin('GET', 'requests')).requests.slice(before).filter((r) => r.rest_method === 'voximplant.statistic.get')
  assert.ok(polls.length >= 2 && polls.length <= 6, `${polls.length} polls for a call of about 1 s`)
})

test('an abort rejects at once with an AbortError whose cause is signal.reason', async () => {
  const controller = new AbortController()
  const waiting = client.waitForOutcome(UNKNOWN(5), { timeoutMs: 60000, signal: controller.signal })
  await new Promise((r) => setTimeout(r, 700))
  const reason = new Error('the visitor left')
  const t0 = performance.now()
  controller.abort(reason)
  const e = await waiting.then(() => assert.fail('should reject'), (e) => e)
  assert.ok(performance.now() - t0 < 100, `rejected ${performance.now() - t0} ms after the abort`)
  assert.equal(e.name, 'AbortError')
  assert.equal(e.code, 'ABORT_ERR')
  assert.equal(e.cause, reason)
  const already = await client.waitForOutcome(UNKNOWN(6), { signal: AbortSignal.abort('gone') }).catch((e) => e)
  assert.equal(already.name, 'AbortError')
  assert.equal(already.cause, 'gone')
})

test('a signal that never fires is left without listeners once the wait ends', async () => {
  const controller = new AbortController()
  let live = 0
  const add = controller.signal.addEventListener.bind(controller.signal)
  const remove = controller.signal.removeEventListener.bind(controller.signal)
  controller.signal.addEventListener = (...a) => { live++; return add(...a) }
  controller.signal.removeEventListener = (...a) => { live--; return remove(...a) }
  assert.equal(await client.waitForOutcome(UNKNOWN(7), { timeoutMs: 800, signal: controller.signal }), null)
  assert.equal(live, 0)
})

test('a poll that fails for good ends the wait with its error', async () => {
  const wrong = new pkg.Client({ webhookUrl: portal.info.base_url + '/rest/1/wrongsecret000042/', ...FAST })
  await rejectsWith(wrong.waitForOutcome(UNKNOWN(8), { timeoutMs: 5000 }), 'auth_failed')
  // A transient one (the portal refuses for a moment) is polled through.
  const started = await client.startCallback({ line: 'reg1', to: '+12015550103', text: 'declined' })
  await portal.fault('html_502', { method: 'voximplant.statistic.get', times: 2 })
  const record = await client.waitForOutcome(started.callId, { timeoutMs: 10000 })
  assert.equal(record.outcome, 'declined')
})
