// AbortSignal: cancels a call still waiting for the rate limiter; nothing is sent.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { pkg, rejectsWith, startPortal } from './helpers.mjs'

let portal
before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

const slowClient = () =>
  new pkg.Client({
    webhookUrl: portal.info.webhook_url,
    rateLimit: { burst: 1, perSecond: 0.2 },
    destinationPolicy: { numberCooldownMs: 0 },
    deadlineMs: 20000,
  })

test('aborting a call that waits for the limiter rejects at once, nothing sent', async () => {
  const client = slowClient()
  await client.startCallback({ line: 'reg1', to: '+12015550114', text: 'first' })
  const before = (await portal.stats()).callback_requests
  const controller = new AbortController()
  const t0 = Date.now()
  const waiting = client.startCallback({ line: 'reg1', to: '+12015550115', text: 'second', signal: controller.signal })
  setTimeout(() => controller.abort(new Error('visitor left')), 200)
  const e = await rejectsWith(waiting, 'rate_limited')
  const elapsed = Date.now() - t0
  assert.ok(elapsed < 3000, `rejected soon after the abort (${elapsed} ms), not after the 5 s wait`)
  assert.equal(e.retrySafe, true)
  assert.equal(e.cause?.message, 'visitor left', 'cause is signal.reason')
  await new Promise((r) => setTimeout(r, 300))
  assert.equal((await portal.stats()).callback_requests, before, 'nothing was sent')
})

test('an already aborted signal rejects without sending', async () => {
  const client = slowClient()
  const before = (await portal.stats()).callback_requests
  const e = await rejectsWith(
    client.startCallback({ line: 'reg1', to: '+12015550116', text: 'x', signal: AbortSignal.abort() }),
    'rate_limited',
  )
  assert.equal(e.cause?.name, 'AbortError')
  assert.equal((await portal.stats()).callback_requests, before)
})

test('a signal that never fires changes nothing, and its listener is removed', async () => {
  const client = slowClient()
  const controller = new AbortController()
  let added = 0
  let removed = 0
  const add = controller.signal.addEventListener.bind(controller.signal)
  const remove = controller.signal.removeEventListener.bind(controller.signal)
  controller.signal.addEventListener = (...a) => { added++; return add(...a) }
  controller.signal.removeEventListener = (...a) => { removed++; return remove(...a) }
  const started = await client.startCallback({ line: 'reg1', to: '+12015550117', text: 'x', signal: controller.signal })
  assert.match(started.callId, /^callback\./)
  assert.equal(added, 1)
  assert.equal(removed, 1)
  controller.abort()
})
