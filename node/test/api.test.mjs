// The synchronous surface: exports, types of arguments, CallbackError, validation.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { FAST, pkg, require, throwsWith } from './helpers.mjs'

const { CallbackError, Client } = pkg
const WEBHOOK = 'http://127.0.0.1:9/rest/1/apisecret00000001/'

test('exports and version', () => {
  for (const name of ['Client', 'CallbackError', 'validateRequest', 'classifyResponse', 'parseEvent', 'maskNumber', 'errorCodes', 'knownVoices', 'version']) {
    assert.equal(typeof pkg[name], 'function', name)
  }
  assert.equal(pkg.version(), require('../package.json').version)
  assert.equal(pkg.MAX_TEXT_CHARS, 1000)
  assert.ok(pkg.knownVoices().includes('ruinternalfemale'))
  assert.deepEqual(pkg.errorCodes(), [
    'invalid_request', 'destination_blocked', 'rate_limited', 'operation_time_limit', 'auth_failed',
    'insufficient_scope', 'access_denied', 'line_not_found', 'number_rejected', 'portal_error',
    'transport', 'outcome_unknown',
  ])
  assert.equal(pkg.maskNumber('+12015550123'), '+120******23')
})

test('index.d.ts declares exactly the codes errorCodes() returns', async () => {
  const { readFileSync } = await import('node:fs')
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
  const line = dts.split('\n').find((l) => l.startsWith('export type ErrorCode ='))
  const declared = [...line.matchAll(/'([a-z_]+)'/g)].map((m) => m[1])
  assert.deepEqual(declared, pkg.errorCodes())
})

test('CallbackError is a real Error subclass that users can construct', () => {
  const e = new CallbackError('boom', { code: 'transport', retrySafe: true })
  assert.ok(e instanceof Error)
  assert.ok(e instanceof CallbackError)
  assert.equal(e.name, 'CallbackError')
  assert.equal(e.message, 'boom')
  assert.equal(e.code, 'transport')
  assert.equal(e.retrySafe, true)
  assert.equal(e.bitrixCode, null)
  assert.equal(e.httpStatus, null)
  assert.deepEqual(e.violations, [])
  assert.match(e.stack, /CallbackError: boom/)
  assert.ok(!Object.keys(e).includes('name'))
})

test('wrong argument types throw TypeError synchronously', () => {
  const isTypeError = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE'
  assert.throws(() => new Client(), isTypeError)
  assert.throws(() => new Client('http://x'), isTypeError)
  assert.throws(() => new Client({}), isTypeError)
  assert.throws(() => new Client({ webhookUrl: 42 }), isTypeError)
  assert.throws(() => new Client({ webhookUrl: WEBHOOK, timeoutMs: 'soon' }), isTypeError)
  assert.throws(() => new Client({ webhookUrl: WEBHOOK, rateLimit: 7 }), isTypeError)
  const client = new Client({ webhookUrl: WEBHOOK, ...FAST })
  assert.throws(() => client.startCallback(), isTypeError)
  assert.throws(() => client.startCallback({ line: 'reg1', to: 12015550123, text: 'x' }), isTypeError)
  assert.throws(() => client.startCallback({ line: 'reg1', to: '+12015550123', text: 'x', signal: 5 }), isTypeError)
  assert.throws(() => client.startCallback({ line: 'reg1', to: '+12015550123', text: 'x', signal: {} }), isTypeError)
  assert.throws(() => client.callRecord(12), isTypeError)
  assert.throws(() => client.waitForOutcome('x', 5), isTypeError)
  assert.throws(() => pkg.parseEvent(5, 'tok'), isTypeError)
  assert.throws(() => pkg.classifyResponse('200', '{}'), isTypeError)
  assert.throws(() => pkg.maskNumber(12015550123), isTypeError)
  assert.throws(() => Client.fromOAuth({ clientId: 'a' }), isTypeError)
})

test('a TypeError never quotes the value it refused', () => {
  const client = new Client({ webhookUrl: WEBHOOK, ...FAST })
  try {
    client.startCallback({ line: 'reg1', to: 12015550123, text: 'x' })
    assert.fail('should throw')
  } catch (e) {
    assert.ok(e instanceof TypeError)
    assert.doesNotMatch(e.message, /2015550123/)
    assert.match(e.message, /`to`/)
  }
  try {
    new Client({ webhookUrl: { secret: 'apisecret00000001' } })
    assert.fail('should throw')
  } catch (e) {
    assert.doesNotMatch(e.message, /apisecret/)
  }
})

test('invalid input throws CallbackError invalid_request synchronously, before any Promise', () => {
  const client = new Client({ webhookUrl: WEBHOOK, ...FAST })
  const e = throwsWith(() => client.startCallback({ line: '', to: 'not a number', text: '' }), 'invalid_request')
  assert.equal(e.retrySafe, true)
  const fields = e.violations.map((v) => v.field)
  assert.ok(fields.includes('TO_NUMBER'), fields.join())
  assert.ok(fields.includes('FROM_LINE'), fields.join())
  assert.ok(fields.includes('TEXT_TO_PRONOUNCE'), fields.join())
  assert.ok(Object.isFrozen(e.violations))
})

test('bad option values are invalid_request with the option named', () => {
  const e = throwsWith(() => new Client({ webhookUrl: WEBHOOK, timeoutMs: -1, deadlineMs: Number.NaN }), 'invalid_request')
  assert.deepEqual(e.violations.map((v) => v.field).sort(), ['deadlineMs', 'timeoutMs'])
  throwsWith(() => new Client({ webhookUrl: WEBHOOK, rateLimit: 'turbo' }), 'invalid_request')
  // A custom burst is never wrapped or truncated into something else (-1 would be 2**32-1).
  for (const burst of [-1, 0, 1.5, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY]) {
    const bad = throwsWith(() => new Client({ webhookUrl: WEBHOOK, rateLimit: { burst, perSecond: 2 } }), 'invalid_request')
    assert.equal(bad.violations.filter((v) => /rate/i.test(v.field)).length, 1, String(burst))
  }
  for (const perSecond of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    throwsWith(() => new Client({ webhookUrl: WEBHOOK, rateLimit: { burst: 3, perSecond } }), 'invalid_request')
  }
  throwsWith(() => new Client({ webhookUrl: 'ftp://example.com/rest/1/x/' }), 'invalid_request')
  throwsWith(() => new Client({ webhookUrl: WEBHOOK, rootCertificates: 'not a pem' }), 'invalid_request')
})

test('every option is accepted', () => {
  const client = new Client({
    webhookUrl: WEBHOOK,
    connectTimeoutMs: 1000,
    timeoutMs: 2000,
    deadlineMs: 3000,
    rateLimit: { burst: 3, perSecond: 1.5 },
    rootCertificates: [],
    userAgentSuffix: 'my-app/1.0',
    defaultRegion: 'GB',
    allowUnknownVoice: true,
    destinationPolicy: { allowedRegions: ['GB'], blockCostlyNumbers: true, numberCooldownMs: 1000 },
    dedupeWindowMs: 60000,
  })
  assert.equal(typeof client.portal, 'string')
  for (const preset of ['standard', 'enterprise', 'off']) new Client({ webhookUrl: WEBHOOK, rateLimit: preset })
  const oauth = Client.fromOAuth({
    clientId: 'local.app.1',
    clientSecret: 'clientsecretvalue01',
    accessToken: 'accesstokenvalue01',
    refreshToken: 'refreshtokenvalue01',
    clientEndpoint: 'http://127.0.0.1:9/rest/',
    serverEndpoint: 'http://127.0.0.1:9/rest/',
    onTokens: () => {},
    ...FAST,
  })
  assert.ok(oauth instanceof Client)
})

test('validateRequest returns what would be sent, with the number masked elsewhere', () => {
  const r = pkg.validateRequest({ line: 'reg1', to: '+12015550123', text: 'Call the visitor', voice: 'ruinternalfemale' })
  assert.equal(r.line, 'reg1')
  assert.equal(r.maskedNumber, '+120******23')
  assert.equal(r.destinationRegion, 'US')
  assert.deepEqual(JSON.parse(r.wireBody), {
    FROM_LINE: 'reg1', TO_NUMBER: '+12015550123', TEXT_TO_PRONOUNCE: 'Call the visitor', VOICE: 'ruinternalfemale',
  })
})
