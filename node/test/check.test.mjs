// client.checkCallback: what startCallback would decide, without traffic and without reserving
// anything; every failure is a rejected Promise. Against the fake portal, so that "nothing was
// sent" is counted by the portal itself.
import assert from 'node:assert/strict'
import util from 'node:util'
import { after, before, test } from 'node:test'

import { FAST, pkg, rejectsWith, startPortal } from './helpers.mjs'

const { CallbackError, Client } = pkg
let portal
let n = 0

/** A fresh number the fake portal answers (NANP fictional block, area 202; 201 holds its magic numbers). */
const fresh = () => `+1202555${String(150 + n++).padStart(4, '0')}`
/** Every request that reached the portal, whatever its method. */
const requestCount = async () => (await portal.admin('GET', 'requests')).requests.length
const client = (extra = {}) => new Client({ webhookUrl: portal.info.webhook_url, ...FAST, ...extra })
const request = (to, extra = {}) => ({ line: 'reg1', to, text: 'A visitor asked for a call back', ...extra })

before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

/** Awaits `promise`, which must reject with a destination_blocked of violation `code`. */
const blocked = async (promise, code) => {
  const e = await rejectsWith(promise, 'destination_blocked')
  assert.equal(e.retrySafe, true)
  assert.deepEqual(e.violations.map((v) => [v.field, v.code]), [['TO_NUMBER', code]], e.message)
  return e
}

test('an allowed destination: the full number, its mask, region and type; inspect hides the number', async () => {
  const c = client({ defaultRegion: 'US' })
  const d = await c.checkCallback(request('(202) 555-0149'))
  assert.deepEqual({ ...d }, {
    number: '+12025550149',
    maskedNumber: '+120******49',
    region: 'US',
    numberType: 'fixed_line_or_mobile',
  })
  assert.deepEqual(Object.keys(d), ['number', 'maskedNumber', 'region', 'numberType'])
  const shown = util.inspect(d) + util.inspect({ nested: [d] }, { depth: 5 }) + util.format('%o %O', d, d)
  assert.doesNotMatch(shown, /2025550149/)
  assert.match(util.inspect(d), /^Destination \{/)
  assert.match(util.inspect(d), /number: '\[hidden\]'/)
  assert.match(util.inspect(d), /maskedNumber: '\+120\*{6}49'/)
  // The value itself is the app's to use.
  assert.equal(JSON.parse(JSON.stringify(d)).number, '+12025550149')
  const gb = await c.checkCallback(request('+44 20 7946 0000'))
  assert.deepEqual([gb.region, gb.numberType], ['GB', 'fixed_line'])
  const freephone = await c.checkCallback(request('+800 1234 5678'))
  assert.deepEqual([freephone.region, freephone.numberType], ['001', 'toll_free'])
})

test('costly types, the international networks and high-risk regions are refused by default, each with its code', async () => {
  const c = client()
  const before = await requestCount()
  const cases = [
    ['+44 909 879 0123', 'premium_rate'],
    ['+1 900 234 5678', 'premium_rate'],
    ['+44 70 1234 5678', 'personal_number'],
    ['+44 56 1234 5678', 'voip'],
    ['+808 1234 5678', 'shared_cost'],
    ['+881 612 345 678', 'international_network'],
    ['+870 301 234 567', 'international_network'],
    ['+1 876 555 0123', 'high_risk_region'],
    ['+53 5 123 4567', 'high_risk_region'],
  ]
  for (const [to, code] of cases) {
    const e = await blocked(c.checkCallback(request(to)), code)
    assert.doesNotMatch(e.message + util.inspect(e), new RegExp(to.replace(/\D/g, '').slice(2)), to)
    // startCallback refuses it the same way, before sending anything.
    await blocked(c.startCallback(request(to)), code)
  }
  assert.equal(await requestCount(), before, 'nothing reached the portal')
  // Each rule gives way to an explicit permission.
  const open = client({
    destinationPolicy: {
      numberCooldownMs: 0,
      allowedNumberTypes: ['fixed_line', 'mobile', 'fixed_line_or_mobile', 'toll_free', 'voip'],
      allowedPrefixes: ['+44', '+881', '+1 876'],
    },
  })
  assert.equal((await open.checkCallback(request('+44 56 1234 5678'))).numberType, 'voip')
  assert.equal((await open.checkCallback(request('+881 612 345 678'))).region, '001')
  assert.equal((await open.checkCallback(request('+1 876 555 0123'))).region, 'JM')
  await blocked(open.checkCallback(request('+12025550123')), 'prefix_not_allowed')
  const costly = client({ destinationPolicy: { numberCooldownMs: 0, blockCostlyNumbers: false } })
  assert.equal((await costly.checkCallback(request('+44 909 879 0123'))).numberType, 'premium_rate')
})

test('region and prefix lists refuse with their own codes', async () => {
  const to = '+12025550123'
  const policy = (p) => client({ destinationPolicy: { numberCooldownMs: 0, ...p } })
  await blocked(policy({ blockedPrefixes: ['+1 202'] }).checkCallback(request(to)), 'prefix_blocked')
  await blocked(policy({ blockedRegions: ['US'] }).checkCallback(request(to)), 'region_blocked')
  await blocked(policy({ allowedRegions: ['GB', 'DE'] }).checkCallback(request(to)), 'region_not_allowed')
  await blocked(policy({ allowedPrefixes: ['+44'] }).checkCallback(request(to)), 'prefix_not_allowed')
  assert.equal((await policy({ allowedRegions: ['US'] }).checkCallback(request(to))).region, 'US')
})

test('bad input is a rejected Promise, never a synchronous throw', async () => {
  const c = client()
  const isTypeError = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE'
  for (const args of [[{}], [], ['+12025550123'], [{ line: 'reg1', to: 12025550123, text: 'x' }]]) {
    let p
    assert.doesNotThrow(() => {
      p = c.checkCallback(...args)
    }, JSON.stringify(args))
    assert.ok(p instanceof Promise, JSON.stringify(args))
    await assert.rejects(p, isTypeError, JSON.stringify(args))
  }
  const e = await c.checkCallback({ line: 'reg1', to: 12025550123, text: 'x' }).catch((x) => x)
  assert.doesNotMatch(e.message, /2025550123/)
  let p
  assert.doesNotThrow(() => {
    p = c.checkCallback({ line: '', to: 'not a number', text: '' })
  })
  const invalid = await rejectsWith(p, 'invalid_request')
  assert.ok(invalid instanceof CallbackError)
  assert.deepEqual(invalid.violations.map((v) => v.field).sort(), ['FROM_LINE', 'TEXT_TO_PRONOUNCE', 'TO_NUMBER'])
  // The client's own rules apply, as in startCallback.
  await rejectsWith(c.checkCallback(request('(202) 555-0123')), 'invalid_request')
  await rejectsWith(c.checkCallback(request('+12025550123', { voice: 'klingonmale' })), 'invalid_request')
  const lenient = client({ defaultRegion: 'US', allowUnknownVoice: true })
  assert.equal((await lenient.checkCallback(request('(202) 555-0123', { voice: 'klingonmale' }))).region, 'US')
})

test('checking sends nothing and reserves nothing; after a real start the check says cooldown', async () => {
  const c = client({ destinationPolicy: { numberCooldownMs: 60000 } })
  const to = fresh()
  const before = await requestCount()
  const first = await c.checkCallback(request(to))
  const second = await c.checkCallback(request(to))
  assert.equal(first.number, to)
  assert.equal(second.number, to)
  assert.equal(await requestCount(), before, 'a check sends nothing')
  const started = await c.startCallback(request(to))
  assert.match(started.callId, /^callback\./)
  await blocked(c.checkCallback(request(to)), 'cooldown')
  await blocked(c.startCallback(request(to)), 'cooldown')
  assert.equal(await requestCount(), before + 1, 'only the start was sent')
})

test('the idempotency key: a repeat of the same request is fine, the key reused for another number is refused', async () => {
  const c = client({ destinationPolicy: { numberCooldownMs: 60000 } })
  const [to, other] = [fresh(), fresh()]
  const key = 'form-7'
  const started = await c.startCallback(request(to, { idempotencyKey: key }))
  // startCallback would answer the repeat with the first answer, so the check allows it even
  // though the number cools down...
  assert.equal((await c.checkCallback(request(to, { idempotencyKey: key }))).number, to)
  assert.equal((await c.startCallback(request(to, { idempotencyKey: key }))).callId, started.callId)
  // ...but the same key for another number is a mistake, refused by both.
  const reused = (e) => {
    assert.equal(e.retrySafe, true)
    assert.deepEqual(e.violations.map((v) => [v.field, v.code]), [['idempotency_key', 'reused']])
  }
  reused(await rejectsWith(c.checkCallback(request(other, { idempotencyKey: key })), 'invalid_request'))
  reused(await rejectsWith(c.startCallback(request(other, { idempotencyKey: key })), 'invalid_request'))
  reused(await rejectsWith(c.checkCallback(request(to, { idempotencyKey: key, text: 'another text' })), 'invalid_request'))
})

test('numberHourlyCap: the third call to a number within the hour is refused, by check and start', async () => {
  const c = client({ destinationPolicy: { numberCooldownMs: 0, numberHourlyCap: 2 } })
  const to = fresh()
  const before = await requestCount()
  await c.startCallback(request(to))
  assert.equal((await c.checkCallback(request(to))).number, to)
  await c.startCallback(request(to))
  await blocked(c.checkCallback(request(to)), 'hourly_cap')
  await blocked(c.startCallback(request(to)), 'hourly_cap')
  assert.equal(await requestCount(), before + 2)
  // Another number is not concerned; a cap of 0 turns the rule off.
  assert.equal((await c.checkCallback(request(fresh()))).region, 'US')
  const uncapped = client({ destinationPolicy: { numberCooldownMs: 0, numberHourlyCap: 0 } })
  const busy = fresh()
  for (let i = 0; i < 7; i++) await uncapped.startCallback(request(busy))
  assert.equal((await uncapped.checkCallback(request(busy))).number, busy)
})

test('the default hourly cap is 5 calls to one number, even without a cooldown', async () => {
  const c = client()
  const to = fresh()
  for (let i = 0; i < 5; i++) await c.startCallback(request(to))
  await blocked(c.checkCallback(request(to)), 'hourly_cap')
  await blocked(c.startCallback(request(to)), 'hourly_cap')
})
