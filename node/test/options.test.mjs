// Unknown options are refused with their name (a typo never passes silently); every option
// index.d.ts declares is known.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { FAST, pkg, rejectsWith, throwsWith } from './helpers.mjs'

const { Client } = pkg
const WEBHOOK = 'http://127.0.0.1:9/rest/1/optionsecret000001/'
const OAUTH = {
  clientId: 'local.app.1',
  clientSecret: 'clientsecretvalue01',
  accessToken: 'accesstokenvalue01',
  refreshToken: 'refreshtokenvalue01',
  clientEndpoint: 'http://127.0.0.1:9/rest/',
  serverEndpoint: 'http://127.0.0.1:9/rest/',
}
const REQUEST = { line: 'reg1', to: '+12015550123', text: 'x' }

const unknown = (e) => e.violations.filter((v) => v.code === 'unknown_option').map((v) => v.field)

test('new Client refuses an unknown option by name, suggesting the known one', () => {
  const e = throwsWith(() => new Client({ webhookUrl: WEBHOOK, defaultRegoin: 'GB' }), 'invalid_request')
  assert.deepEqual(e.violations.map((v) => [v.field, v.code]), [['defaultRegoin', 'unknown_option']])
  assert.match(e.violations[0].message, /`defaultRegion`/)
  assert.match(e.message, /defaultRegoin/)
  const nested = throwsWith(
    () => new Client({ webhookUrl: WEBHOOK, destinationPolicy: { allowedRegion: ['GB'] }, rateLimit: { burst: 1, perSecond: 1, perSecnd: 1 } }),
    'invalid_request',
  )
  assert.deepEqual(unknown(nested), ['destinationPolicy.allowedRegion', 'rateLimit.perSecnd'])
  const several = throwsWith(() => new Client({ webhookUrl: WEBHOOK, timeout: 5, colour: 'red' }), 'invalid_request')
  assert.deepEqual(unknown(several), ['timeout', 'colour'])
  assert.match(several.violations[0].message, /`timeoutMs`/)
  assert.equal(several.violations[1].message, 'is not an option')
})

test('an unknown key whose value is undefined counts as absent, as every option does', () => {
  new Client({ webhookUrl: WEBHOOK, defaultRegoin: undefined, destinationPolicy: { typo: undefined } })
})

test('Client.fromOAuth and Client.fromEnv refuse unknown options too', () => {
  const e = throwsWith(() => Client.fromOAuth({ ...OAUTH, onToken: () => {} }), 'invalid_request')
  assert.deepEqual(unknown(e), ['onToken'])
  assert.match(e.violations[0].message, /`onTokens`/)
  const env = throwsWith(() => Client.fromEnv({ webhookUrl: WEBHOOK }), 'invalid_request')
  assert.deepEqual(unknown(env), ['webhookUrl'], 'fromEnv reads the webhook from the environment')
})

test('startCallback, checkCallback, waitForOutcome and validateRequest refuse unknown keys', async () => {
  const client = new Client({ webhookUrl: WEBHOOK, ...FAST })
  const start = await rejectsWith(client.startCallback({ ...REQUEST, idempotencykey: 'k' }), 'invalid_request')
  assert.deepEqual(unknown(start), ['idempotencykey'])
  assert.match(start.violations[0].message, /`idempotencyKey`/)
  // Reported with the other problems of the same input.
  const both = await rejectsWith(client.startCallback({ ...REQUEST, to: 'nope', voise: 'x' }), 'invalid_request')
  assert.deepEqual(both.violations.map((v) => v.field).sort(), ['TO_NUMBER', 'voise'])
  const check = await rejectsWith(client.checkCallback({ ...REQUEST, lines: 'reg1' }), 'invalid_request')
  assert.deepEqual(unknown(check), ['lines'])
  assert.match(check.violations[0].message, /`line`/)
  // The options of startCallback are checked as they are: their signal is not read.
  await client.checkCallback({ ...REQUEST, signal: AbortSignal.abort() })
  const wait = await rejectsWith(client.waitForOutcome('callback.1', { timeout: 5 }), 'invalid_request')
  assert.deepEqual(unknown(wait), ['timeout'])
  const v = throwsWith(() => pkg.validateRequest({ ...REQUEST, defaultRegoin: 'US' }), 'invalid_request')
  assert.deepEqual(unknown(v), ['defaultRegoin'])
})

/** The property names of `interface NAME` in index.d.ts. */
function declaredKeys(name) {
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
  const start = dts.indexOf(`export interface ${name} {`)
  assert.ok(start >= 0, `interface ${name} in index.d.ts`)
  const body = dts.slice(start, dts.indexOf('\n}', start))
  return [...body.matchAll(/^  (\w+)\??:/gm)].map((m) => m[1])
}

test('every option index.d.ts declares is known (null for an optional one is accepted)', async () => {
  const client = new Client({ webhookUrl: WEBHOOK, ...FAST })
  const notUnknown = (fn, key) => {
    try {
      fn()
    } catch (e) {
      assert.ok(!(e instanceof pkg.CallbackError) || !unknown(e).length, `${key}: ${e.message}`)
    }
  }
  for (const key of declaredKeys('ClientOptions')) notUnknown(() => new Client({ webhookUrl: WEBHOOK, [key]: null }), key)
  for (const key of declaredKeys('DestinationPolicy')) notUnknown(() => new Client({ webhookUrl: WEBHOOK, destinationPolicy: { [key]: null } }), key)
  for (const key of declaredKeys('CustomRateLimit')) notUnknown(() => new Client({ webhookUrl: WEBHOOK, rateLimit: { burst: 1, perSecond: 1, [key]: key === 'burst' ? 2 : 1 } }), key)
  for (const key of declaredKeys('OAuthConfig')) notUnknown(() => Client.fromOAuth({ ...OAUTH, [key]: OAUTH[key] ?? null }), key)
  for (const key of declaredKeys('RequestInput')) notUnknown(() => pkg.validateRequest({ ...REQUEST, [key]: REQUEST[key] ?? null }), key)
  for (const key of declaredKeys('StartCallbackOptions')) {
    const e = await client.startCallback({ ...REQUEST, line: 'nope', [key]: REQUEST[key] ?? null }).catch((e) => e)
    assert.ok(!(e instanceof pkg.CallbackError) || !unknown(e).length, key)
  }
  for (const key of declaredKeys('CheckCallbackOptions')) {
    const e = await client.checkCallback({ ...REQUEST, [key]: REQUEST[key] ?? null }).catch((e) => e)
    assert.ok(!(e instanceof pkg.CallbackError) || !unknown(e).length, key)
  }
  for (const key of declaredKeys('WaitOptions')) {
    const e = await client.waitForOutcome('callback.1', { [key]: null, timeoutMs: 0 }).catch((e) => e)
    assert.ok(!(e instanceof pkg.CallbackError) || !unknown(e).length, key)
  }
  assert.deepEqual(declaredKeys('WebhookConfig'), ['webhookUrl'])
  assert.deepEqual(declaredKeys('FromEnvConfig'), ['onTokens'])
})
