// 100 concurrent startCallback promises, paced by the client's limiter so that the portal's
// own (smaller than default) leaky bucket never answers 503 QUERY_LIMIT_EXCEEDED.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { pkg, startPortal } from './helpers.mjs'

let portal
before(async () => {
  // The portal admits 10 at once and drains 40/s; the client is stricter: 8 at once, 30/s.
  portal = await startPortal(['--burst', '10', '--drain', '40', '--stage-ms', '40'])
})
after(() => portal.stop())

test('100 concurrent calls, zero 503s, each number called exactly once', async () => {
  const client = new pkg.Client({
    webhookUrl: portal.info.webhook_url,
    rateLimit: { burst: 8, perSecond: 30 },
    destinationPolicy: { numberCooldownMs: 0 },
    deadlineMs: 30000,
  })
  const numbers = Array.from({ length: 100 }, (_, i) => `+1202555${String(100 + i).padStart(4, '0')}`)
  let ticks = 0
  const timer = setInterval(() => ticks++, 25)
  const t0 = Date.now()
  let results
  try {
    results = await Promise.all(numbers.map((to, i) => client.startCallback({ line: 'reg1', to, text: `call ${i}` })))
  } finally {
    clearInterval(timer)
  }
  const elapsed = Date.now() - t0
  assert.equal(results.length, 100)
  assert.equal(new Set(results.map((r) => r.callId)).size, 100)
  const stats = await portal.stats()
  assert.equal(stats.rate_limited, 0, 'the portal never answered QUERY_LIMIT_EXCEEDED')
  assert.equal(stats.callback_requests, 100, 'one request per call, no retries')
  const ledger = await portal.ledger()
  const digits = (x) => x.replace(/\D/g, '')
  assert.deepEqual(ledger.map((c) => digits(c.number)).sort(), numbers.map(digits).sort())
  // 92 calls beyond the burst at 30/s need about 3 s: the limiter really paced them.
  assert.ok(elapsed >= 2500, `paced (took ${elapsed} ms)`)
  // At most UV_THREADPOOL_SIZE (4) calls wait in the limiter at a time, each ~4/30 s.
  const waited = results.filter((r) => r.timing.limiterWaitMs > 50).length
  assert.ok(waited >= 50, `most calls waited for the limiter (${waited} of 100)`)
  assert.ok(ticks >= elapsed / 25 / 2, `the event loop stayed free (${ticks} ticks in ${elapsed} ms)`)
})
