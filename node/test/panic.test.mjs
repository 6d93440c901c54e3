// A forced panic inside the core (the test-hooks build: a start from the line
// `test-hook:panic`) reaches JavaScript as CallbackError outcome_unknown, and the process goes
// on serving.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { FAST, pkg, rejectsWith, startPortal } from './helpers.mjs'

let portal
before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

test('a panic mid-call rejects with outcome_unknown; the client and the process keep working', async () => {
  const client = new pkg.Client({ webhookUrl: portal.info.webhook_url, ...FAST })
  const before = (await portal.stats()).callback_requests
  const e = await rejectsWith(client.startCallback({ line: 'test-hook:panic', to: '+12015550180', text: 'x' }), 'outcome_unknown')
  assert.equal(e.retrySafe, false)
  assert.match(e.message, /internal error/)
  assert.doesNotMatch(e.message + e.stack, /2015550180|fakewebhooksecret0001|forced by the test hook/)
  assert.equal((await portal.stats()).callback_requests, before, 'the panic came before the request')
  // Many at once, and ordinary calls in between: all settle, none crash the process.
  const mixed = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) =>
      client.startCallback({ line: i % 2 ? 'test-hook:panic' : 'reg1', to: `+1201555019${i}`, text: 'x' })),
  )
  assert.deepEqual(mixed.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected'])
  const started = await client.startCallback({ line: 'reg1', to: '+12015550189', text: 'after the panics' })
  assert.match(started.callId, /^callback\./)
  assert.ok((await client.lines()).length > 0)
})
