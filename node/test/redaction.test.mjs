// Secrets and full phone numbers never show in errors, util.inspect or String().
import assert from 'node:assert/strict'
import util from 'node:util'
import { after, before, test } from 'node:test'

import { FAST, pkg, rejectsWith, startPortal } from './helpers.mjs'

let portal
before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

const SECRET = 'fakewebhooksecret0001'
const show = (x) => util.inspect(x, { depth: 10, showHidden: true }) + String(x) + (x && x.stack ? x.stack : '')

test('util.inspect and String() of a webhook client hide the secret', () => {
  const client = new pkg.Client({ webhookUrl: portal.info.webhook_url, ...FAST })
  const text = show(client) + JSON.stringify(client)
  assert.doesNotMatch(text, new RegExp(SECRET))
  assert.match(util.inspect(client), /webhook/)
  assert.match(util.inspect(client), /127\.0\.0\.1/)
})

test('util.inspect of an OAuth client hides the client secret and the tokens', () => {
  const client = pkg.Client.fromOAuth({
    clientId: 'local.app.77',
    clientSecret: 'clientsecretvalue77',
    accessToken: 'accesstokenvalue77',
    refreshToken: 'refreshtokenvalue77',
    clientEndpoint: portal.info.client_endpoint,
    serverEndpoint: portal.info.server_endpoint,
    onTokens: () => {},
    ...FAST,
  })
  const text = show(client)
  for (const s of ['clientsecretvalue77', 'accesstokenvalue77', 'refreshtokenvalue77']) assert.doesNotMatch(text, new RegExp(s))
  assert.match(text, /local\.app\.77/)
})

test('a malformed webhook URL is refused without echoing the secret', () => {
  for (const url of [
    `ftp://example.com/rest/1/${SECRET}/`,
    `https://example.com/wrong/1/${SECRET}`,
    `http://example.com/rest/1/${SECRET}/`,
    `https://example.com:99999/rest/1/${SECRET}/`,
    `https://example.com/rest/1/${SECRET}/extra/more/`,
  ]) {
    let err
    try {
      new pkg.Client({ webhookUrl: url })
    } catch (e) {
      err = e
    }
    assert.ok(err instanceof pkg.CallbackError, url)
    assert.equal(err.code, 'invalid_request')
    assert.doesNotMatch(show(err), new RegExp(SECRET), url)
  }
})

test('errors from the portal carry neither the secret nor the number', async () => {
  const client = new pkg.Client({ webhookUrl: portal.info.webhook_url, ...FAST })
  const number = '+12015550139'
  const errors = []
  errors.push(await rejectsWith(client.startCallback({ line: 'nosuchline', to: number, text: 'x' }), 'line_not_found'))
  errors.push(await rejectsWith(client.startCallback({ line: 'reg1', to: '+12015550106', text: 'x' }), 'outcome_unknown'))
  errors.push(await rejectsWith(client.startCallback({ line: 'reg1', to: '+449098790123', text: 'x' }), 'destination_blocked'))
  const wrong = new pkg.Client({ webhookUrl: portal.info.base_url + '/rest/1/anothersecret9999/', ...FAST })
  errors.push(await rejectsWith(wrong.startCallback({ line: 'reg1', to: number, text: 'x' }), 'auth_failed'))
  for (const e of errors) {
    const text = show(e)
    assert.doesNotMatch(text, new RegExp(SECRET))
    assert.doesNotMatch(text, /anothersecret9999/)
    assert.doesNotMatch(text, /2015550139|2015550106|9098790123/)
  }
})

test('validation errors mask the number they refuse', async () => {
  const client = new pkg.Client({ webhookUrl: portal.info.webhook_url, ...FAST })
  const err = await rejectsWith(client.startCallback({ line: 'reg1', to: '+1 201 555 0141 ext', text: '' }), 'invalid_request')
  assert.doesNotMatch(show(err), /201\D{0,3}555\D?0141/)
})

test('util.inspect of a parsed event and of a validated request hides the full number', () => {
  const body = new URLSearchParams({
    event: 'ONVOXIMPLANTCALLEND',
    'data[CALL_ID]': 'callback.1',
    'data[PHONE_NUMBER]': '+12015550142',
    'data[CALL_FAILED_CODE]': '486',
    'auth[member_id]': 'membersecret42',
    'auth[application_token]': 'apptoken42',
  }).toString()
  const ev = pkg.parseEvent(body, 'apptoken42')
  const r = pkg.validateRequest({ line: 'reg1', to: '+12015550143', text: 'x' })
  for (const x of [ev, r, { nested: [ev, r] }]) {
    const text = util.inspect(x, { depth: 10 }) + util.format('%o %O', x, x)
    assert.doesNotMatch(text, /2015550142|2015550143|membersecret42|apptoken42/)
  }
  assert.match(util.inspect(ev), /^TelephonyEvent \{/)
  assert.match(util.inspect(ev), /outcome: 'busy'/)
  assert.match(util.inspect(r), /maskedNumber: '\+120\*{6}43'/)
  // The values themselves are untouched: the app asked for them.
  assert.equal(ev.data.PHONE_NUMBER, '+12015550142')
  assert.equal(ev.memberId, 'membersecret42')
  assert.equal(JSON.parse(r.wireBody).TO_NUMBER, '+12015550143')
  assert.deepEqual(Object.keys(ev), ['event', 'callId', 'outcome', 'data', 'ts', 'domain', 'memberId'])
  assert.equal(JSON.parse(JSON.stringify(ev)).data.PHONE_NUMBER, '+12015550142')
})
