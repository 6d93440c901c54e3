// Telephony events end to end: the fake portal POSTs ONVOXIMPLANT* events to a handler served
// by this process, and parseEvent verifies and reads them.
import assert from 'node:assert/strict'
import http from 'node:http'
import { after, before, test } from 'node:test'

import { FAST, pkg, startPortal } from './helpers.mjs'

const TOKEN = 'apptokenfornodetests0001'
let portal
let server
const received = []
let notify = () => {}

before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000', '--stage-ms', '40'])
  server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push({ body, type: req.headers['content-type'] })
      res.end('ok')
      notify()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  await portal.admin('POST', 'events', {
    handler_url: `http://127.0.0.1:${server.address().port}/b24-events`,
    application_token: TOKEN,
  })
})
after(async () => {
  portal.stop()
  await new Promise((resolve) => server.close(resolve))
})

async function eventFor(callId, name, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const r of received) {
      const ev = pkg.parseEvent(r.body, TOKEN)
      if (ev.callId === callId && ev.event === name) return { ev, raw: r }
    }
    if (Date.now() > deadline) throw new Error(`no ${name} for ${callId}`)
    await new Promise((resolve) => {
      notify = resolve
      setTimeout(resolve, 200)
    })
  }
}

test('the end of a call arrives as a verified ONVOXIMPLANTCALLEND with its outcome', async () => {
  const client = new pkg.Client({ webhookUrl: portal.info.webhook_url, ...FAST })
  const started = await client.startCallback({ line: 'reg1', to: '+12015550102', text: 'no answer' })
  const { ev, raw } = await eventFor(started.callId, 'ONVOXIMPLANTCALLEND')
  assert.match(raw.type, /application\/x-www-form-urlencoded/)
  assert.equal(ev.outcome, 'no_answer')
  assert.equal(typeof ev.data, 'object')
  assert.ok(ev.domain)
  // The same body with a wrong token is refused.
  assert.throws(() => pkg.parseEvent(raw.body, 'not-the-token'), (e) => e instanceof pkg.CallbackError && e.code === 'auth_failed')
  assert.throws(() => pkg.parseEvent(Buffer.from(raw.body), 'not-the-token'), (e) => e.code === 'auth_failed')
})
