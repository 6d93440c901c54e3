// The synchronous surface: exports, types of arguments, CallbackError, validation.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { FAST, pkg, rejectsWith, require, throwsWith } from './helpers.mjs'

const { CallbackError, Client } = pkg
const WEBHOOK = 'http://127.0.0.1:9/rest/1/apisecret00000001/'

test('exports and version', () => {
  assert.equal(typeof pkg.Client.prototype.checkCallback, 'function')
  for (const name of ['Client', 'CallbackError', 'validateRequest', 'classifyResponse', 'parseEvent', 'maskNumber', 'errorCodes', 'knownVoices', 'version']) {
    assert.equal(typeof pkg[name], 'function', name)
  }
  assert.equal(pkg.version(), require('../package.json').version)
  assert.equal(pkg.MAX_TEXT_CHARS, 1000)
  assert.ok(pkg.knownVoices().includes('ruinternalfemale'))
  assert.deepEqual(pkg.errorCodes(), [
    'invalid_request', 'destination_blocked', 'rate_limited', 'operation_time_limit', 'auth_failed',
    'insufficient_scope', 'access_denied', 'line_not_found', 'number_rejected', 'portal_error',
    'transport', 'shared_state_unavailable', 'outcome_unknown',
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

test('index.d.ts declares exactly the number types the binding returns', async () => {
  const { readFileSync } = await import('node:fs')
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
  const line = dts.split('\n').find((l) => l.startsWith('export type NumberType ='))
  const declared = [...line.matchAll(/'([a-z_]+)'/g)].map((m) => m[1])
  assert.deepEqual(declared, Object.values(pkg.NumberType))
  assert.ok(declared.includes('premium_rate') && declared.includes('fixed_line_or_mobile'))
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

test('CallbackError has every field of the details, whether the core or a user made it', () => {
  const made = pkg.classifyResponse(400, JSON.stringify({ error: 'SOME_ERROR', error_description: 'nope' }))
  assert.ok(made instanceof CallbackError)
  assert.equal(made.bitrixCode, 'SOME_ERROR')
  assert.equal(made.httpStatus, 400)
  const fields = Object.keys(made)
  assert.deepEqual(fields.slice(0, 2), ['code', 'retrySafe'])
  assert.ok(fields.includes('violations') && fields.includes('portalMovedTo'), fields.join())
  const mine = new CallbackError('custom', { code: 'portal_error', retrySafe: 'yes', portalMovedTo: undefined })
  assert.deepEqual(Object.keys(mine), fields)
  for (const key of fields) {
    if (key === 'code') assert.equal(mine.code, 'portal_error')
    else if (key === 'retrySafe') assert.equal(mine.retrySafe, false, 'only `true` is retry-safe')
    else if (key === 'violations') assert.ok(Array.isArray(mine.violations) && Object.isFrozen(mine.violations))
    else assert.equal(mine[key], null, key)
  }
  const given = [{ field: 'TO_NUMBER', code: 'cooldown', message: 'recently called' }]
  const blocked = new CallbackError('blocked', { code: 'destination_blocked', retrySafe: true, violations: given })
  assert.deepEqual(blocked.violations, given)
  assert.notEqual(blocked.violations, given, 'the violations are a frozen copy')
  assert.ok(Object.isFrozen(blocked.violations))
})

test('wrong argument types of the constructor and the factories throw TypeError', () => {
  const isTypeError = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE'
  assert.throws(() => new Client(), isTypeError)
  assert.throws(() => new Client('http://x'), isTypeError)
  assert.throws(() => new Client({}), isTypeError)
  assert.throws(() => new Client({ webhookUrl: 42 }), isTypeError)
  assert.throws(() => new Client({ webhookUrl: WEBHOOK, timeoutMs: 'soon' }), isTypeError)
  assert.throws(() => new Client({ webhookUrl: WEBHOOK, rateLimit: 7 }), isTypeError)
  assert.throws(() => new Client({ webhookUrl: WEBHOOK, logger: 'console' }), isTypeError)
  assert.throws(() => new Client({ webhookUrl: WEBHOOK, logger: {} }), isTypeError)
  assert.throws(() => pkg.parseEvent(5, 'tok'), isTypeError)
  assert.throws(() => pkg.classifyResponse('200', '{}'), isTypeError)
  assert.throws(() => pkg.maskNumber(12015550123), isTypeError)
  assert.throws(() => Client.fromOAuth({ clientId: 'a' }), isTypeError)
  assert.throws(() => Client.fromEnv(5), isTypeError)
})

test('every failure of an async method is a rejected Promise, never a throw', async () => {
  const isTypeError = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE'
  const client = new Client({ webhookUrl: WEBHOOK, ...FAST })
  const calls = {
    'startCallback()': () => client.startCallback(),
    'startCallback(number to)': () => client.startCallback({ line: 'reg1', to: 12015550123, text: 'x' }),
    'startCallback(signal: 5)': () => client.startCallback({ line: 'reg1', to: '+12015550123', text: 'x', signal: 5 }),
    'startCallback(signal: {})': () => client.startCallback({ line: 'reg1', to: '+12015550123', text: 'x', signal: {} }),
    'checkCallback()': () => client.checkCallback(),
    'callRecord(12)': () => client.callRecord(12),
    'waitForOutcome(x, 5)': () => client.waitForOutcome('x', 5),
    'waitForOutcome(12)': () => client.waitForOutcome(12),
    'waitForOutcome(x, { signal: 5 })': () => client.waitForOutcome('x', { signal: 5 }),
  }
  for (const [name, call] of Object.entries(calls)) {
    let p
    assert.doesNotThrow(() => { p = call() }, name)
    assert.ok(p instanceof Promise, name)
    await assert.rejects(p, isTypeError, name)
  }
  const invalid = {
    'startCallback(bad input)': () => client.startCallback({ line: '', to: 'not a number', text: '' }),
    'startCallback(unknown option)': () => client.startCallback({ line: 'reg1', to: '+12015550123', text: 'x', idempotencykey: 'k' }),
    'checkCallback(bad input)': () => client.checkCallback({ line: 'reg1', to: '12', text: 'x' }),
    'callRecord(empty id)': () => client.callRecord(''),
    'waitForOutcome(timeoutMs: -1)': () => client.waitForOutcome('callback.1', { timeoutMs: -1 }),
    'waitForOutcome(unknown option)': () => client.waitForOutcome('callback.1', { timeout: 5 }),
  }
  for (const [name, call] of Object.entries(invalid)) {
    let p
    assert.doesNotThrow(() => { p = call() }, name)
    await rejectsWith(p, 'invalid_request')
  }
  // Promise.allSettled and .catch see every one of them.
  const settled = await Promise.allSettled([client.startCallback({ line: 'reg1', to: 'x', text: 'y' }), client.callRecord(null)])
  assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected'])
})

test('a TypeError never quotes the value it refused', async () => {
  const client = new Client({ webhookUrl: WEBHOOK, ...FAST })
  const e = await client.startCallback({ line: 'reg1', to: 12015550123, text: 'x' }).then(() => assert.fail('should reject'), (e) => e)
  assert.ok(e instanceof TypeError)
  assert.doesNotMatch(e.message, /2015550123/)
  assert.match(e.message, /`to`/)
  try {
    new Client({ webhookUrl: { secret: 'apisecret00000001' } })
    assert.fail('should throw')
  } catch (e) {
    assert.doesNotMatch(e.message, /apisecret/)
  }
})

test('invalid input rejects with CallbackError invalid_request listing every violation', async () => {
  const client = new Client({ webhookUrl: WEBHOOK, ...FAST })
  const e = await rejectsWith(client.startCallback({ line: '', to: 'not a number', text: '' }), 'invalid_request')
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
  const preset = throwsWith(() => new Client({ webhookUrl: WEBHOOK, rateLimit: 'turbo' }), 'invalid_request')
  assert.deepEqual(preset.violations.map((v) => [v.field, v.code]), [['rateLimit', 'unknown_preset']])
  // A custom burst is never wrapped or truncated into something else (-1 would be 2**32-1);
  // the core refuses the bucket numbers as a whole, with one text for every bad value.
  const refusals = []
  for (const burst of [-1, 0, 1.5, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY]) {
    const bad = throwsWith(() => new Client({ webhookUrl: WEBHOOK, rateLimit: { burst, perSecond: 2 } }), 'invalid_request')
    assert.deepEqual(bad.violations.map((v) => [v.field, v.code]), [['rateLimit', 'invalid']], String(burst))
    refusals.push(bad.violations[0].message)
  }
  for (const perSecond of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    const bad = throwsWith(() => new Client({ webhookUrl: WEBHOOK, rateLimit: { burst: 3, perSecond } }), 'invalid_request')
    assert.deepEqual(bad.violations.map((v) => [v.field, v.code]), [['rateLimit', 'invalid']], String(perSecond))
    refusals.push(bad.violations[0].message)
  }
  assert.equal(new Set(refusals).size, 1, refusals.join(' | '))
  assert.ok(refusals[0].length > 0)
  throwsWith(() => new Client({ webhookUrl: 'ftp://example.com/rest/1/x/' }), 'invalid_request')
  throwsWith(() => new Client({ webhookUrl: WEBHOOK, rootCertificates: 'not a pem' }), 'invalid_request')
})

test('several bad options at once are one invalid_request listing them all, in camelCase', () => {
  const e = throwsWith(
    () => new Client({ webhookUrl: WEBHOOK, timeoutMs: -1, deadlineMs: 0, rateLimit: 'turbo', defaultRegion: 'XX' }),
    'invalid_request',
  )
  assert.deepEqual(e.violations.map((v) => [v.field, v.code]), [
    ['timeoutMs', 'out_of_range'],
    ['deadlineMs', 'zero'],
    ['rateLimit', 'unknown_preset'],
    ['defaultRegion', 'unknown_region'],
  ])
  for (const v of e.violations) assert.match(e.message, new RegExp(`${v.field}: `))
  const nested = throwsWith(
    () => new Client({ webhookUrl: WEBHOOK, destinationPolicy: { numberCooldownMs: -5, allowedRegions: ['ZZ'] }, dedupeWindowMs: Number.NaN }),
    'invalid_request',
  )
  assert.deepEqual(nested.violations.map((v) => v.field).sort(), [
    'dedupeWindowMs', 'destinationPolicy.allowedRegions', 'destinationPolicy.numberCooldownMs',
  ])
  // The OAuth factory reads the same options (its deadline also bounds the wait for onTokens).
  const oauth = throwsWith(() => Client.fromOAuth({
    clientId: 'local.app.1',
    clientSecret: 'clientsecretvalue01',
    accessToken: 'accesstokenvalue01',
    refreshToken: 'refreshtokenvalue01',
    clientEndpoint: 'http://127.0.0.1:9/rest/',
    serverEndpoint: 'http://127.0.0.1:9/rest/',
    onTokens: () => {},
    deadlineMs: -1,
  }), 'invalid_request')
  assert.deepEqual(oauth.violations.map((v) => [v.field, v.code]), [['deadlineMs', 'out_of_range']])
})

test('bad destination-policy values are one invalid_request listing them all', () => {
  const e = throwsWith(() => new Client({
    webhookUrl: WEBHOOK,
    destinationPolicy: { allowedRegions: ['XX'], blockedPrefixes: ['44'], allowedNumberTypes: ['landline'], numberHourlyCap: 1.5 },
  }), 'invalid_request')
  assert.deepEqual(e.violations.map((v) => [v.field, v.code]), [
    ['destinationPolicy.allowedRegions', 'unknown_region'],
    ['destinationPolicy.blockedPrefixes', 'invalid_prefix'],
    ['destinationPolicy.allowedNumberTypes', 'unknown_number_type'],
    ['destinationPolicy.numberHourlyCap', 'invalid'],
  ])
  for (const v of e.violations) assert.match(e.message, new RegExp(`${v.field.replace('.', '\\.')}: `))
  // The cap is never wrapped or truncated (napi's own u32 would make -1 a cap of 4294967295),
  // and it is listed where the core lists the policy: before dedupeWindowMs.
  for (const numberHourlyCap of [-1, 1.5, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY]) {
    const bad = throwsWith(() => new Client({ webhookUrl: WEBHOOK, destinationPolicy: { numberHourlyCap } }), 'invalid_request')
    assert.deepEqual(bad.violations.map((v) => [v.field, v.code]), [['destinationPolicy.numberHourlyCap', 'invalid']], String(numberHourlyCap))
  }
  const ordered = throwsWith(() => new Client({
    webhookUrl: WEBHOOK,
    timeoutMs: -1,
    destinationPolicy: { numberCooldownMs: -1, numberHourlyCap: -1 },
    dedupeWindowMs: -1,
  }), 'invalid_request')
  assert.deepEqual(ordered.violations.map((v) => v.field), [
    'timeoutMs', 'destinationPolicy.numberCooldownMs', 'destinationPolicy.numberHourlyCap', 'dedupeWindowMs',
  ])
  for (const numberHourlyCap of [0, 1, 2 ** 32 - 1]) new Client({ webhookUrl: WEBHOOK, destinationPolicy: { numberHourlyCap } })
  // The OAuth factory reads the same policy.
  const oauth = throwsWith(() => Client.fromOAuth({
    clientId: 'local.app.1',
    clientSecret: 'clientsecretvalue01',
    accessToken: 'accesstokenvalue01',
    refreshToken: 'refreshtokenvalue01',
    clientEndpoint: 'http://127.0.0.1:9/rest/',
    serverEndpoint: 'http://127.0.0.1:9/rest/',
    destinationPolicy: { numberHourlyCap: -3, highRiskRegions: ['QQ'] },
  }), 'invalid_request')
  assert.deepEqual(oauth.violations.map((v) => v.field), ['destinationPolicy.highRiskRegions', 'destinationPolicy.numberHourlyCap'])
})

test('a bad waitForOutcome timeoutMs rejects with invalid_request', async () => {
  const client = new Client({ webhookUrl: WEBHOOK, ...FAST })
  for (const timeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    const e = await rejectsWith(client.waitForOutcome('callback.1', { timeoutMs }), 'invalid_request')
    assert.deepEqual(e.violations.map((v) => [v.field, v.code]), [['timeoutMs', 'out_of_range']], String(timeoutMs))
  }
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
    destinationPolicy: {
      allowedRegions: ['GB', '001'],
      blockedRegions: ['DE'],
      allowedPrefixes: ['+44', '+1 201'],
      blockedPrefixes: ['+4470'],
      blockCostlyNumbers: true,
      allowedNumberTypes: ['fixed_line', 'mobile', 'voip'],
      highRiskRegions: [],
      numberCooldownMs: 1000,
      numberHourlyCap: 3,
    },
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
  assert.equal(r.numberType, 'fixed_line_or_mobile')
  assert.equal(pkg.validateRequest({ line: 'reg1', to: '+44 7400 123456', text: 'x' }).numberType, 'mobile')
  // validateRequest has no policy: a premium-rate number is valid, checkCallback would refuse it.
  assert.equal(pkg.validateRequest({ line: 'reg1', to: '+44 909 879 0123', text: 'x' }).numberType, 'premium_rate')
  assert.deepEqual(JSON.parse(r.wireBody), {
    FROM_LINE: 'reg1', TO_NUMBER: '+12015550123', TEXT_TO_PRONOUNCE: 'Call the visitor', VOICE: 'ruinternalfemale',
  })
})
