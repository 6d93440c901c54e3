// OAuth: refresh on an expired token, the rotated pair handed to onTokens (sync or async), and
// what happens when onTokens throws or rejects.
import assert from 'node:assert/strict'
import util from 'node:util'
import { after, before, test } from 'node:test'

import { FAST, pkg, rejectsWith, startPortal } from './helpers.mjs'

let portal
before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

async function oauthClient(onTokens, extra = {}) {
  const t = await portal.admin('POST', 'oauth/tokens')
  const client = pkg.Client.fromOAuth({
    clientId: t.client_id,
    clientSecret: t.client_secret,
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    clientEndpoint: t.client_endpoint,
    serverEndpoint: t.server_endpoint,
    onTokens,
    ...FAST,
    ...extra,
  })
  return { client, tokens: t }
}

test('an expired token is refreshed once and the new pair reaches onTokens', async () => {
  const seen = []
  const { client, tokens } = await oauthClient((pair) => {
    seen.push(pair)
  })
  assert.ok((await client.lines()).length > 0)
  assert.equal(seen.length, 0)
  await portal.admin('POST', 'oauth/expire')
  const refreshes = (await portal.stats()).refreshes
  const started = await client.startCallback({ line: 'reg1', to: '+12015550127', text: 'x' })
  assert.match(started.callId, /^callback\./)
  assert.equal(seen.length, 1)
  assert.notEqual(seen[0].refreshToken, tokens.refresh_token)
  assert.notEqual(seen[0].accessToken, tokens.access_token)
  assert.equal(typeof seen[0].expiresIn, 'number')
  assert.equal((await portal.stats()).refreshes, refreshes + 1)
  assert.ok(started.timing.attempts >= 2, 'the call was resent after the refresh')
})

test('an async onTokens is awaited before the new token is used', async () => {
  const order = []
  const { client } = await oauthClient(async () => {
    order.push('persist:start')
    await new Promise((r) => setTimeout(r, 150))
    order.push('persist:done')
  })
  await portal.admin('POST', 'oauth/expire')
  await client.lines()
  order.push('call:done')
  assert.deepEqual(order, ['persist:start', 'persist:done', 'call:done'])
})

for (const [name, hook] of [
  ['throws', () => { throw new Error('database is down') }],
  ['rejects', async () => { throw new Error('database is down') }],
]) {
  test(`onTokens that ${name} fails the call with auth_failed, never crashes the process`, async () => {
    let uncaught = null
    const onUncaught = (e) => { uncaught = e }
    process.on('uncaughtException', onUncaught)
    try {
      const { client } = await oauthClient(hook)
      await portal.admin('POST', 'oauth/expire')
      const e = await rejectsWith(client.lines(), 'auth_failed')
      assert.equal(e.retrySafe, true)
      // The rotated pair is still used in memory, so the next call works.
      assert.ok((await client.lines()).length > 0)
    } finally {
      process.off('uncaughtException', onUncaught)
    }
    assert.equal(uncaught, null)
  })
}

for (const [name, hook] of [
  ['throws', (pair) => { throw new Error(`could not save ${pair.accessToken} / ${pair.refreshToken}`) }],
  ['rejects', async (pair) => { throw new TypeError(`could not save ${pair.accessToken} / ${pair.refreshToken}`) }],
  ['throws a string', (pair) => { throw `could not save ${pair.refreshToken}` }],
]) {
  test(`onTokens that ${name} with the tokens in its message: the error names only its kind`, async () => {
    const seen = []
    const { client } = await oauthClient((pair) => {
      seen.push(pair)
      return hook(pair)
    })
    await portal.admin('POST', 'oauth/expire')
    const e = await rejectsWith(client.lines(), 'auth_failed')
    assert.equal(seen.length, 1)
    const text = util.inspect(e, { depth: 10, showHidden: true }) + String(e) + e.stack
    assert.ok(!text.includes(seen[0].accessToken), 'the access token is not in the error')
    assert.ok(!text.includes(seen[0].refreshToken), 'the refresh token is not in the error')
    assert.doesNotMatch(text, /could not save/)
    assert.match(e.message, /onTokens failed with (Error|TypeError|string)\b/)
  })
}

test('onTokens that never settles gives up at the deadline', async () => {
  const { client } = await oauthClient(() => new Promise(() => {}), { deadlineMs: 1000 })
  await portal.admin('POST', 'oauth/expire')
  const t0 = Date.now()
  const e = await rejectsWith(client.lines(), 'auth_failed')
  assert.ok(Date.now() - t0 < 5000)
  assert.match(e.message, /onTokens did not settle within 1000 ms/)
})

test('a used refresh token (invalid_grant) is auth_failed', async () => {
  const { client, tokens } = await oauthClient(() => {})
  // Spend the refresh token from the side, then force the client to refresh.
  const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: tokens.client_id, client_secret: tokens.client_secret, refresh_token: tokens.refresh_token })
  await fetch(`${portal.info.token_url}?${form}`)
  await portal.admin('POST', 'oauth/expire')
  await rejectsWith(client.lines(), 'auth_failed')
})
