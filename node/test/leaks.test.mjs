// No secret and no full number leaks on any error path. With a known webhook secret, OAuth
// access and refresh tokens, client secret, application token and full numbers in play, every
// fault kind of the fake portal, every policy refusal, refresh failures, a throwing and a
// rejecting onTokens and parseEvent failures are driven, while everything a user could print is
// collected: the logger's records at the most verbose level, error messages and stacks, and
// util.inspect / String / JSON of errors, results and clients. None of it holds a secret.
import assert from 'node:assert/strict'
import util from 'node:util'
import { after, before, test } from 'node:test'

import { FakePortal, pkg } from './helpers.mjs'

const { Client, CallbackError } = pkg
const WEBHOOK_SECRET = 'whsecretLEAK00000001'
const CLIENT_SECRET = 'clientsecretLEAK0001'
const APP_TOKEN = 'apptokenLEAK00000001'
const CLIENT_ID = 'local.leakapp.0001'

let portal
const secrets = [WEBHOOK_SECRET, CLIENT_SECRET, APP_TOKEN]
const numbers = []
const records = []
const shown = []

const logger = (level, message) => records.push(`${level} ${message}`)
const show = (x) => {
  shown.push(util.inspect(x, { depth: 10, showHidden: true }), util.format('%s %o', x, x))
  // A result's JSON is its data (a parsed event keeps the number the app asked for); an
  // error's JSON is what a log line of it would hold.
  if (x instanceof Error) shown.push(x.message, String(x.stack), util.inspect(x.cause, { depth: 10 }), JSON.stringify(x))
}
/** A fresh full number (NANP fictional range, answered by the portal), remembered as a secret. */
let n = 0
const number = () => {
  const to = `+1202555${String(100 + (n++ % 100)).padStart(4, '0')}`
  numbers.push(to)
  return to
}
/** Settles `p`, showing the result or the error; returns the error code or 'ok'. */
async function drive(p) {
  try {
    show(await p)
    return 'ok'
  } catch (e) {
    show(e)
    return e instanceof CallbackError ? e.code : `${e.name}`
  }
}

before(async () => {
  portal = await FakePortal.start({
    burst: 10000,
    drainPerSecond: 10000,
    stageMs: 20,
    webhookSecret: WEBHOOK_SECRET,
    oauthClientId: CLIENT_ID,
    oauthClientSecret: CLIENT_SECRET,
    applicationToken: APP_TOKEN,
  })
})
after(() => portal.close())

const FAST = { rateLimit: 'off', destinationPolicy: { numberCooldownMs: 0, numberHourlyCap: 0 }, deadlineMs: 2500, timeoutMs: 1500, connectTimeoutMs: 1000, logger }
const webhook = (extra = {}) => new Client({ webhookUrl: portal.webhookUrl, ...FAST, ...extra })
const start = (client, extra = {}) => client.startCallback({ line: 'reg1', to: number(), text: 'x', ...extra })

test('every fault kind of the portal, on starts and reads', async () => {
  const client = webhook()
  show(client)
  const faults = [
    { kind: 'delay', delayMs: 2500 },
    { kind: 'close_before_execute' },
    { kind: 'close_after_execute' },
    { kind: 'html_502' },
    { kind: 'html_504' },
    { kind: 'truncated_json' },
    { kind: 'overload' },
    { kind: 'query_limit', times: 200 },
    { kind: 'operation_time_limit', times: 200 },
    // A portal (or a proxy) that echoes the request path, which holds the webhook secret.
    { kind: 'respond', status: 400, body: { error: 'ECHO', error_description: 'bad path {path} for {call_id}' } },
    { kind: 'respond', status: 200, body: { result: { RESULT: true, CALL_ID: '{path}' }, error: '{path}' }, execute: true },
    { kind: 'respond', status: 500, body: '<html>{path}</html>', contentType: 'text/html' },
    { kind: 'redirect', status: 302, location: '{scheme}://user:{path}@localhost:{port}{path}' },
    { kind: 'redirect', status: 303, location: '{scheme}://localhost:{port}{path}', execute: true },
    { kind: 'redirect', status: 307, location: 'http://localhost:1{path}' },
  ]
  const codes = []
  for (const fault of faults) {
    for (const method of ['voximplant.callback.start', 'voximplant.statistic.get']) {
      portal.clearFaults()
      portal.addFault({ ...fault, method })
      codes.push(await drive(method === 'voximplant.callback.start' ? start(client) : client.callRecord('callback.00000000000000000000000000000001.1')))
    }
  }
  portal.clearFaults()
  portal.addFault({ kind: 'rename', method: 'voximplant.callback.start' })
  codes.push(await drive(start(client)))
  portal.clearFaults()
  // Nothing listens: transport (the secret is in the address).
  const dead = new Client({ webhookUrl: `http://127.0.0.1:1/rest/1/${WEBHOOK_SECRET}/`, ...FAST })
  codes.push(await drive(start(dead)), await drive(dead.lines()))
  show(client)
  for (const c of ['outcome_unknown', 'transport', 'portal_error', 'rate_limited', 'operation_time_limit']) assert.ok(codes.includes(c), `${c} in ${codes}`)
})

test('every refusal before sending: validation and each destination-policy rule', async () => {
  const client = webhook({ destinationPolicy: { numberCooldownMs: 60000, numberHourlyCap: 1 } })
  const codes = new Set()
  const refuse = async (c, to) => {
    numbers.push(to)
    try {
      await c.checkCallback({ line: 'reg1', to, text: 'x' })
    } catch (e) {
      show(e)
      for (const v of e.violations) codes.add(v.code)
    }
    await drive(c.startCallback({ line: 'reg1', to, text: 'x' }))
  }
  for (const to of ['+449098790123', '+881612345678', '+44 55 1234 5678', '+44 56 1234 5678', '+53 5 1234567', '+1 876 210 1234', '+44 70 1234 5678', '+44 76 2345 6789', '+1 201 555 0141 ext', '12015550142', '+1 (202) 555-01', '+1 202 555 0143;ext=9']) {
    await refuse(client, to)
  }
  await refuse(webhook({ destinationPolicy: { blockedPrefixes: ['+1202'] } }), '+12025550144')
  await refuse(webhook({ destinationPolicy: { allowedPrefixes: ['+49'] } }), '+12025550145')
  await refuse(webhook({ destinationPolicy: { allowedRegions: ['DE'] } }), '+12025550146')
  await refuse(webhook({ destinationPolicy: { blockedRegions: ['US'] } }), '+12025550147')
  // The cooldown, then the hourly cap, for one number.
  const to = number()
  await drive(client.startCallback({ line: 'reg1', to, text: 'x' }))
  await refuse(client, to)
  const capped = webhook({ destinationPolicy: { numberCooldownMs: 0, numberHourlyCap: 1 } })
  const again = number()
  await drive(capped.startCallback({ line: 'reg1', to: again, text: 'x' }))
  await refuse(capped, again)
  // An idempotency key reused for another request.
  await drive(client.startCallback({ line: 'reg1', to: number(), text: 'x', idempotencyKey: 'leak-key' }))
  await drive(client.startCallback({ line: 'reg1', to: number(), text: 'y', idempotencyKey: 'leak-key' }))
  for (const c of ['premium_rate', 'international_network', 'uan', 'voip', 'high_risk_region', 'personal_number', 'pager', 'prefix_blocked', 'prefix_not_allowed', 'region_not_allowed', 'region_blocked', 'cooldown', 'hourly_cap']) {
    assert.ok(codes.has(c), `${c} in ${[...codes]}`)
  }
})

test('OAuth: refresh failures, a throwing and a rejecting onTokens', async () => {
  const oauth = (tokens, extra = {}) => Client.fromOAuth({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    clientEndpoint: portal.clientEndpoint,
    serverEndpoint: portal.serverEndpoint,
    ...FAST,
    ...extra,
  })
  const issued = []
  const issue = () => {
    const t = portal.issueTokens()
    issued.push(t)
    return t
  }
  const codes = []
  // The refresh token was used already: invalid_grant.
  const used = issue()
  const first = oauth(used)
  show(first)
  portal.expireAccessTokens()
  codes.push(await drive(first.lines()))
  const spent = oauth(used)
  portal.expireAccessTokens()
  codes.push(await drive(spent.lines()))
  // A wrong client secret: invalid_client (the secret given must not show either).
  const wrong = Client.fromOAuth({ ...{ clientId: CLIENT_ID, clientSecret: 'wrongclientsecretLEAK', accessToken: issue().accessToken, refreshToken: issued.at(-1).refreshToken, clientEndpoint: portal.clientEndpoint, serverEndpoint: portal.serverEndpoint }, ...FAST })
  secrets.push('wrongclientsecretLEAK')
  portal.expireAccessTokens()
  codes.push(await drive(wrong.voices()))
  // The token endpoint fails in every way the portal can.
  for (const kind of ['html_502', 'close_before_execute', 'truncated_json', 'overload']) {
    const c = oauth(issue())
    portal.expireAccessTokens()
    portal.addFault({ kind, method: 'oauth.token' })
    codes.push(await drive(c.startCallback({ line: 'reg1', to: number(), text: 'x' })))
    portal.clearFaults()
  }
  // onTokens that throws, or rejects, quoting the very tokens it was given.
  const throwing = oauth(issue(), { onTokens: (p) => { throw new Error(`cannot save ${p.accessToken} ${p.refreshToken}`) } })
  portal.expireAccessTokens()
  codes.push(await drive(throwing.startCallback({ line: 'reg1', to: number(), text: 'x' })))
  const rejecting = oauth(issue(), { onTokens: async (p) => { throw new TypeError(`db down for ${p.refreshToken}`) } })
  portal.expireAccessTokens()
  codes.push(await drive(rejecting.lines()))
  const odd = oauth(issue(), { onTokens: (p) => Promise.reject(p.accessToken) })
  portal.expireAccessTokens()
  codes.push(await drive(odd.voices()))
  for (const t of issued) secrets.push(t.accessToken, t.refreshToken)
  // The pairs the portal issued on refresh are secrets too.
  for (const r of portal.requests()) {
    if (r.path.startsWith('/oauth/token')) {
      for (const m of (r.query + '&' + r.body).matchAll(/refresh_token=([^&]+)/g)) secrets.push(decodeURIComponent(m[1]))
    }
  }
  assert.ok(codes.filter((c) => c === 'auth_failed').length >= 5, codes.join())
})

test('parseEvent failures and successes', () => {
  const to = number()
  const body = new URLSearchParams({
    event: 'ONVOXIMPLANTCALLEND',
    'data[CALL_ID]': 'callback.1',
    'data[PHONE_NUMBER]': to,
    'data[CALL_FAILED_CODE]': '486',
    'auth[application_token]': APP_TOKEN,
  }).toString()
  show(pkg.parseEvent(body, APP_TOKEN))
  for (const [b, token] of [
    [body, 'anotherapptokenLEAK'],
    [body, ''],
    [body.replace(APP_TOKEN, APP_TOKEN.slice(0, -1)), APP_TOKEN],
    [`%ZZ${body}`, APP_TOKEN],
    [Buffer.from([0xff, 0xfe, ...Buffer.from(body)]), APP_TOKEN],
    ['event=&auth[application_token]=' + APP_TOKEN, APP_TOKEN],
    [body + '&event=SECOND', APP_TOKEN],
  ]) {
    try {
      show(pkg.parseEvent(b, token))
    } catch (e) {
      show(e)
    }
  }
  secrets.push('anotherapptokenLEAK')
})

test('nothing collected holds a secret or a full number', async () => {
  await new Promise((r) => setTimeout(r, 100))
  const text = [...records, ...shown].join('\n')
  assert.ok(records.some((r) => r.startsWith('debug ')), 'the logger saw debug records')
  assert.ok(records.length > 100, `${records.length} records`)
  for (const s of new Set(secrets)) assert.ok(!text.includes(s), `a secret (${s.slice(0, 6)}...) leaked`)
  for (const to of new Set(numbers)) {
    const digits = to.replace(/\D/g, '')
    const spaced = new RegExp(digits.slice(-10).split('').join('[^0-9A-Za-z]{0,3}'))
    const m = spaced.exec(text)
    assert.ok(!m, `the number ending ${digits.slice(-2)} leaked: ...${m && text.slice(Math.max(0, m.index - 80), m.index + 40)}`)
  }
})
