// The event loop stays free during a call: the portal answering it is an http server inside
// this same process, and a timer keeps ticking while the call is in flight. If the binding
// blocked the JS thread, the server could not answer and the call would time out.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { FAST, SUCCESS, pkg, startLocalPortal } from './helpers.mjs'

test('startCallback, lines and voices run off the JS thread', async () => {
  const local = await startLocalPortal((req) => {
    if (req.url.includes('voximplant.line.get')) return { body: { result: { reg1: 'Sales' } }, delayMs: 300 }
    if (req.url.includes('voximplant.tts.voices.get')) return { body: { result: { ruinternalfemale: 'Russian (female)' } }, delayMs: 300 }
    return { body: SUCCESS, delayMs: 600 }
  })
  const client = new pkg.Client({ webhookUrl: local.webhookUrl, ...FAST })
  let ticks = 0
  const timer = setInterval(() => ticks++, 20)
  try {
    const t0 = Date.now()
    const pending = client.startCallback({ line: 'reg1', to: '+12015550123', text: 'Hi' })
    assert.ok(pending instanceof Promise)
    assert.equal(ticks, 0)
    const started = await pending
    const elapsed = Date.now() - t0
    assert.equal(started.callId, SUCCESS.result.CALL_ID)
    assert.ok(elapsed >= 550, `the answer was delayed 600 ms (took ${elapsed})`)
    assert.ok(ticks >= 10, `the timer kept ticking during the call (${ticks} ticks)`)
    assert.equal(started.timing.portal.duration, SUCCESS.time.duration)
    const before = ticks
    const [lines, voices] = await Promise.all([client.lines(), client.voices()])
    assert.deepEqual(lines, [{ id: 'reg1', name: 'Sales' }])
    assert.deepEqual(voices, [{ id: 'ruinternalfemale', name: 'Russian (female)' }])
    assert.ok(ticks - before >= 5, 'ticking during lines()/voices() too')
    const posted = local.seen.find((r) => r.url.includes('voximplant.callback.start'))
    assert.equal(posted.method, 'POST')
    assert.match(posted.headers['content-type'], /application\/json/)
    assert.deepEqual(JSON.parse(posted.body), { FROM_LINE: 'reg1', TO_NUMBER: '+12015550123', TEXT_TO_PRONOUNCE: 'Hi' })
  } finally {
    clearInterval(timer)
    await local.close()
  }
})
