// A process with live clients (webhook and OAuth with an onTokens hook) exits by itself once
// its work is done: nothing in the binding keeps the event loop alive.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, test } from 'node:test'

import { startPortal } from './helpers.mjs'

let portal
before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

const CHILD = `
const pkg = require(process.env.INDEX)
const info = JSON.parse(process.env.PORTAL)
globalThis.keep = []
;(async () => {
  const t = await (await fetch(info.admin_url.replace(/\\/?$/, '/') + 'oauth/tokens', { method: 'POST' })).json()
  const webhook = new pkg.Client({ webhookUrl: info.webhook_url, rateLimit: 'off' })
  const oauth = pkg.Client.fromOAuth({
    clientId: t.client_id, clientSecret: t.client_secret, accessToken: t.access_token,
    refreshToken: t.refresh_token, clientEndpoint: t.client_endpoint, serverEndpoint: t.server_endpoint,
    onTokens: () => {}, rateLimit: 'off',
  })
  globalThis.keep.push(webhook, oauth)
  await webhook.lines()
  await oauth.voices()
  console.log('done')
})()
`

test('the process exits cleanly with clients alive', async () => {
  const child = spawn(process.execPath, ['-e', CHILD], {
    env: { ...process.env, INDEX: new URL('../index.js', import.meta.url).pathname, PORTAL: JSON.stringify(portal.info) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000)
  const [code, signal] = await new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s])))
  clearTimeout(timer)
  assert.equal(signal, null, 'it exited on its own (not killed after 15 s)')
  assert.equal(code, 0)
  assert.equal(out.trim(), 'done')
})
