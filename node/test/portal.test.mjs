// Every call and every error code against the fake portal (in this process, from the package's
// testing module), plus
// the in-process portal for the one answer the fake portal has no switch for.
import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'

import * as h from './helpers.mjs'
import { FAST, pkg, startLocalPortal, startPortal } from './helpers.mjs'

const met = new Set()
const rejectsWith = async (p, code) => {
  const e = await h.rejectsWith(p, code)
  met.add(e.code)
  return e
}

const { Client } = pkg
let portal
let client
let n = 0

/**
 * A fresh number the fake portal answers after ringing: the NANP fictional block 555-0100..0199
 * of area codes other than 201 (whose 555-0101..0106 are the fake portal's magic numbers).
 */
const AREAS = [202, 212, 213, 312, 415, 617, 646, 718, 917]
const number = () => {
  const i = n++ % 900
  return `+1${AREAS[Math.floor(i / 100)]}55501${String(i % 100).padStart(2, '0')}`
}
/** How many voximplant.callback.start requests reached the portal (handled or not). */
const sentCount = async () =>
  (await portal.admin('GET', 'requests')).requests.filter((r) => r.rest_method === 'voximplant.callback.start').length
const call = (extra = {}) => client.startCallback({ line: 'reg1', to: number(), text: 'A visitor asked for a call back', ...extra })

before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000', '--stage-ms', '40'])
  client = new Client({ webhookUrl: portal.info.webhook_url, ...FAST })
})
after(() => portal.stop())
beforeEach(() => portal.clearFaults())

test('startCallback starts a call and reports its id and timing', async () => {
  const to = number()
  const started = await client.startCallback({ line: 'reg1', to, text: 'Hello', voice: 'ruinternalfemale' })
  assert.match(started.callId, /^callback\./)
  assert.equal(started.deduplicated, false)
  assert.equal(started.portalMovedTo, null)
  assert.equal(typeof started.timing.totalMs, 'number')
  assert.ok(started.timing.attempts >= 1)
  const ledger = await portal.ledger()
  const entry = ledger.find((c) => c.call_id === started.callId)
  assert.ok(entry, 'the portal recorded the call')
  assert.equal(entry.line, 'reg1')
  assert.equal(entry.voice, 'ruinternalfemale')
})

test('the User-Agent names the node binding', async () => {
  await call()
  const { requests } = await portal.admin('GET', 'requests')
  const ua = requests.at(-1).user_agent
  assert.match(ua, new RegExp(`node/${process.versions.node.replaceAll('.', '\\.')}`))
})

test('userAgentSuffix is appended after (node/<version>)', async () => {
  const c = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, userAgentSuffix: 'shop/2.0' })
  await c.lines()
  const { requests } = await portal.admin('GET', 'requests')
  assert.match(requests.at(-1).user_agent, /^bitrix24-callback\/[0-9.]+ \(node\/[0-9.]+\) shop\/2\.0$/)
})

test('defaultRegion and allowUnknownVoice apply to startCallback', async () => {
  const strict = new Client({ webhookUrl: portal.info.webhook_url, ...FAST })
  await rejectsWith(strict.startCallback({ line: 'reg1', to: '(201) 555-0150', text: 'x' }), 'invalid_request')
  await rejectsWith(strict.startCallback({ line: 'reg1', to: number(), text: 'x', voice: 'klingonmale' }), 'invalid_request')
  const lenient = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, defaultRegion: 'US', allowUnknownVoice: true })
  const started = await lenient.startCallback({ line: 'reg1', to: '(201) 555-0150', text: 'x', voice: 'klingonmale' })
  const entry = (await portal.ledger()).find((c) => c.call_id === started.callId)
  assert.equal(entry.number.replace(/\D/g, ''), '12015550150')
  assert.equal(entry.voice, 'klingonmale')
})

test('an idempotency key makes a repeat return the first answer without calling', async () => {
  const before = (await portal.ledger()).length
  // The repeat is the same request (a key reused for another number or text is refused).
  const to = number()
  const first = await call({ to, idempotencyKey: 'order-1' })
  const again = await call({ to, idempotencyKey: 'order-1' })
  assert.equal(again.deduplicated, true)
  assert.equal(again.callId, first.callId)
  assert.equal((await portal.ledger()).length, before + 1)
})

test('a REST-app line gives callId null', async () => {
  const started = await call({ line: 'REST_APP:1' })
  assert.equal(started.callId, null)
})

test('lines() and voices()', async () => {
  const lines = await client.lines()
  assert.ok(lines.some((l) => l.id === 'reg1' && l.name === 'Sales (cloud PBX)'))
  const sip7 = lines.find((l) => l.id === 'sip7')
  assert.ok(sip7 && !sip7.name.includes('&amp;') && !sip7.name.includes('&lt;'), 'names are HTML-decoded')
  const voices = await client.voices()
  assert.ok(voices.length >= 40)
  assert.ok(voices.some((v) => v.id === 'ruinternalfemale'))
})

test('callRecord() and waitForOutcome() tell what became of the call', async () => {
  const started = await client.startCallback({ line: 'reg1', to: '+12015550101', text: 'busy one' })
  const record = await client.waitForOutcome(started.callId, { timeoutMs: 15000 })
  assert.ok(record, 'a record appeared')
  assert.equal(record.callId, started.callId)
  assert.equal(record.outcome, 'busy')
  assert.equal(record.failedCode, '486')
  assert.ok(!JSON.stringify(record).includes('2015550101'), 'the number is masked')
  const again = await client.callRecord(started.callId)
  assert.equal(again.outcome, 'busy')
  const unknown = await client.waitForOutcome('callback.ffffffffffffffffffffffffffffffff.1', { timeoutMs: 300 })
  assert.equal(unknown, null)
})

test('invalid_request: bad input rejects before anything is sent', async () => {
  const before = (await portal.stats()).callback_requests
  await rejectsWith(client.startCallback({ line: 'reg1', to: '12', text: 'x' }), 'invalid_request')
  assert.equal((await portal.stats()).callback_requests, before)
})

test('destination_blocked: costly numbers, regions and the cooldown', async () => {
  const before = (await portal.stats()).callback_requests
  const e = await rejectsWith(call({ to: '+449098790123' }), 'destination_blocked')
  assert.equal(e.retrySafe, true)
  const gbOnly = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, destinationPolicy: { allowedRegions: ['DE'] } })
  await rejectsWith(gbOnly.startCallback({ line: 'reg1', to: number(), text: 'x' }), 'destination_blocked')
  const cooled = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, destinationPolicy: { numberCooldownMs: 60000 } })
  const to = number()
  await cooled.startCallback({ line: 'reg1', to, text: 'x' })
  await rejectsWith(cooled.startCallback({ line: 'reg1', to, text: 'x' }), 'destination_blocked')
  assert.equal((await portal.stats()).callback_requests, before + 1)
})

test('rate_limited: QUERY_LIMIT_EXCEEDED until the deadline', async () => {
  await portal.fault('query_limit', { method: 'voximplant.callback.start', times: 1000 })
  const quick = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, deadlineMs: 1500 })
  const e = await rejectsWith(quick.startCallback({ line: 'reg1', to: number(), text: 'x' }), 'rate_limited')
  assert.equal(e.retrySafe, true)
})

test('operation_time_limit: HTTP 429', async () => {
  await portal.fault('operation_time_limit', { method: 'voximplant.callback.start', times: 1000 })
  const quick = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, deadlineMs: 1500 })
  const e = await rejectsWith(quick.startCallback({ line: 'reg1', to: number(), text: 'x' }), 'operation_time_limit')
  assert.equal(e.retrySafe, true)
  assert.equal(e.httpStatus, 429)
})

test('auth_failed: a wrong webhook secret', async () => {
  const wrong = new Client({ webhookUrl: portal.info.base_url + '/rest/1/wrongsecretvalue42/', ...FAST })
  const e = await rejectsWith(wrong.startCallback({ line: 'reg1', to: number(), text: 'x' }), 'auth_failed')
  assert.doesNotMatch(e.message + e.stack, /wrongsecretvalue42/)
})

test('insufficient_scope: a webhook without the call scope', async () => {
  await portal.config({ webhook_scopes: ['crm'] })
  try {
    await rejectsWith(call(), 'insufficient_scope')
  } finally {
    await portal.config({ webhook_scopes: ['call', 'telephony'] })
  }
})

test('access_denied: the user may not place outgoing calls', async () => {
  await portal.config({ outgoing_call_permission: false })
  try {
    const e = await rejectsWith(call(), 'access_denied')
    assert.equal(e.bitrixCode, 'ACCESS_DENIED')
    assert.equal(e.httpStatus, 403)
  } finally {
    await portal.config({ outgoing_call_permission: true })
  }
})

test('line_not_found', async () => {
  const e = await rejectsWith(call({ line: 'nosuchline' }), 'line_not_found')
  assert.equal(e.httpStatus, 400)
})

test('number_rejected: the portal refuses the number (in-process portal)', async () => {
  const local = await startLocalPortal(() => ({
    status: 400,
    body: { error: 'ERROR_CORE', error_description: 'Phone number is not correct' },
  }))
  try {
    const c = new Client({ webhookUrl: local.webhookUrl, ...FAST })
    const e = await rejectsWith(c.startCallback({ line: 'reg1', to: '+12015550123', text: 'x' }), 'number_rejected')
    assert.equal(e.retrySafe, true)
    assert.doesNotMatch(e.message, /2015550123/)
  } finally {
    await local.close()
  }
})

test('portal_error: 503 OVERLOAD_LIMIT', async () => {
  await portal.fault('overload', { method: 'voximplant.callback.start', times: 1 })
  const e = await rejectsWith(call(), 'portal_error')
  assert.equal(e.httpStatus, 503)
  assert.equal(e.bitrixCode, 'OVERLOAD_LIMIT')
})

test('transport: nothing listens', async () => {
  const dead = new Client({ webhookUrl: 'http://127.0.0.1:1/rest/1/deadportal0000001/', ...FAST, deadlineMs: 1500 })
  const e = await rejectsWith(dead.startCallback({ line: 'reg1', to: number(), text: 'x' }), 'transport')
  assert.equal(e.retrySafe, true)
})

test('shared_state_unavailable: the shared state cannot be reached, nothing was sent', async () => {
  const cut = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, sharedState: 'redis://127.0.0.1:1/0' })
  const before = await sentCount()
  const e = await rejectsWith(cut.startCallback({ line: 'reg1', to: number(), text: 'x', idempotencyKey: 'no-redis' }), 'shared_state_unavailable')
  assert.equal(e.retrySafe, true)
  assert.equal(await sentCount(), before, 'nothing reached the portal')
})

for (const [kind, extra] of [
  ['close_after_execute', {}],
  ['html_502', {}],
  ['html_504', {}],
  ['truncated_json', {}],
]) {
  test(`outcome_unknown: ${kind} is never retried`, async () => {
    await portal.fault(kind, { method: 'voximplant.callback.start', times: 1, ...extra })
    const before = await sentCount()
    const e = await rejectsWith(call(), 'outcome_unknown')
    assert.equal(e.retrySafe, false)
    assert.equal(await sentCount(), before + 1, 'sent exactly once')
  })
}

test('outcome_unknown: the controller failed ("Parse error or connect error from server")', async () => {
  const e = await rejectsWith(client.startCallback({ line: 'reg1', to: '+12015550106', text: 'x' }), 'outcome_unknown')
  assert.equal(e.retrySafe, false)
})

test('outcome_unknown: a timeout after the request was sent', async () => {
  await portal.fault('delay', { method: 'voximplant.callback.start', times: 1, delay_ms: 3000 })
  const slow = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, timeoutMs: 500, deadlineMs: 2000 })
  await rejectsWith(slow.startCallback({ line: 'reg1', to: number(), text: 'x' }), 'outcome_unknown')
})

test('a renamed portal (302) is followed once and reported', async () => {
  await portal.fault('rename', { method: 'voximplant.callback.start' })
  try {
    const started = await call()
    assert.ok(started.portalMovedTo, 'portalMovedTo is set')
    assert.match(started.portalMovedTo, /localhost/)
  } finally {
    await portal.clearFaults()
  }
})

test('every code of errorCodes() was produced by a real call above', () => {
  assert.deepEqual([...met].sort(), [...pkg.errorCodes()].sort())
})
