// Client.fromEnv: the command line's variables (BITRIX24_*), explicit options over them, and
// violations named by where the value came from.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, afterEach, before, test } from 'node:test'

import { FAST, pkg, rejectsWith, startPortal, throwsWith } from './helpers.mjs'

const { Client } = pkg
let portal
before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

const saved = { ...process.env }
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('BITRIX24_') && !(k in saved)) delete process.env[k]
})
const setEnv = (vars) => Object.assign(process.env, vars)

test('a webhook client from BITRIX24_WEBHOOK_URL and the option variables', async () => {
  setEnv({ BITRIX24_WEBHOOK_URL: portal.info.webhook_url, BITRIX24_DEFAULT_REGION: 'US', BITRIX24_RATE_LIMIT: 'off', BITRIX24_NUMBER_COOLDOWN: '0' })
  const client = Client.fromEnv()
  assert.match(String(client), /auth: 'webhook', userId: '1'/)
  // A national number: the region came from the environment.
  const started = await client.startCallback({ line: 'reg1', to: '(201) 555-0160', text: 'from the environment' })
  assert.match(started.callId, /^callback\./)
  const ua = (await portal.admin('GET', 'requests')).requests.at(-1).user_agent
  assert.match(ua, /\(node\/\d+\.\d+\.\d+\)/)
})

test('explicit options override the environment', async () => {
  setEnv({ BITRIX24_WEBHOOK_URL: portal.info.webhook_url, BITRIX24_DEFAULT_REGION: 'GB', BITRIX24_ALLOWED_REGIONS: 'GB' })
  const gb = Client.fromEnv(FAST)
  await rejectsWith(gb.startCallback({ line: 'reg1', to: '+12015550161', text: 'x' }), 'destination_blocked')
  const us = Client.fromEnv({ ...FAST, defaultRegion: 'US', destinationPolicy: { allowedRegions: ['US'], numberCooldownMs: 0 } })
  const started = await us.startCallback({ line: 'reg1', to: '(201) 555-0162', text: 'x' })
  assert.match(started.callId, /^callback\./)
})

test('what cannot be used is named by its variable, an explicit option by its own name', () => {
  const missing = throwsWith(() => Client.fromEnv(), 'invalid_request')
  assert.deepEqual(missing.violations.map((v) => v.field), ['BITRIX24_WEBHOOK_URL'])
  setEnv({ BITRIX24_WEBHOOK_URL: portal.info.webhook_url, BITRIX24_TIMEOUT: 'soon' })
  const unreadable = throwsWith(() => Client.fromEnv(), 'invalid_request')
  assert.deepEqual(unreadable.violations.map((v) => [v.field, v.code]), [['BITRIX24_TIMEOUT', 'not_a_number']])
  setEnv({ BITRIX24_TIMEOUT: '-5', BITRIX24_DEFAULT_REGION: 'XX' })
  const bad = throwsWith(() => Client.fromEnv(), 'invalid_request')
  assert.deepEqual(bad.violations.map((v) => v.field), ['BITRIX24_TIMEOUT', 'BITRIX24_DEFAULT_REGION'])
  // The same checks, the explicit value named as given and the rest by variable.
  const mixed = throwsWith(() => Client.fromEnv({ timeoutMs: -1, deadlineMs: 0 }), 'invalid_request')
  assert.deepEqual(mixed.violations.map((v) => v.field), ['timeoutMs', 'deadlineMs', 'BITRIX24_DEFAULT_REGION'])
  const fixed = throwsWith(() => Client.fromEnv({ defaultRegion: 'GB', destinationPolicy: { numberCooldownMs: -1 } }), 'invalid_request')
  assert.deepEqual(fixed.violations.map((v) => v.field), ['BITRIX24_TIMEOUT', 'destinationPolicy.numberCooldownMs'])
  for (const e of [missing, bad, mixed, fixed]) assert.doesNotMatch(e.message + e.stack, /fakewebhooksecret0001/)
})

test('an OAuth application from the environment keeps its token file up to date', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'b24cb-env-'))
  try {
    const t = await portal.admin('POST', 'oauth/tokens')
    const file = path.join(dir, 'tokens.json')
    writeFileSync(file, JSON.stringify({ access_token: t.access_token, refresh_token: t.refresh_token }))
    setEnv({
      BITRIX24_CLIENT_ID: t.client_id,
      BITRIX24_CLIENT_SECRET: t.client_secret,
      BITRIX24_CLIENT_ENDPOINT: t.client_endpoint,
      BITRIX24_SERVER_ENDPOINT: t.server_endpoint,
      BITRIX24_TOKEN_FILE: file,
    })
    const client = Client.fromEnv(FAST)
    assert.match(String(client), new RegExp(`auth: 'oauth', clientId: '${t.client_id.replace(/\./g, '\\.')}'`))
    await portal.admin('POST', 'oauth/expire')
    assert.ok((await client.lines()).length > 0)
    const saved = JSON.parse(readFileSync(file, 'utf8'))
    assert.notEqual(saved.refresh_token, t.refresh_token, 'the rotated pair was written back')
    // An explicit onTokens replaces the file.
    const seen = []
    const hooked = Client.fromEnv({ ...FAST, onTokens: (pair) => seen.push(pair.refreshToken) })
    await portal.admin('POST', 'oauth/expire')
    await hooked.voices()
    assert.equal(seen.length, 1)
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).refresh_token, saved.refresh_token, 'the file was left alone')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
