// HTTPS: the fake portal's own CA is trusted only when passed as `rootCertificates`.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { FAST, pkg, rejectsWith, startPortal } from './helpers.mjs'

let portal
before(async () => {
  portal = await startPortal(['--tls', '--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

test('an extra root certificate makes the HTTPS portal trusted', async () => {
  assert.match(portal.info.webhook_url, /^https:/)
  assert.match(portal.info.ca_pem, /BEGIN CERTIFICATE/)
  const client = new pkg.Client({ webhookUrl: portal.info.webhook_url, rootCertificates: portal.info.ca_pem, ...FAST })
  const lines = await client.lines()
  assert.ok(lines.some((l) => l.id === 'reg1'))
  const started = await client.startCallback({ line: 'reg1', to: '+12015550142', text: 'over TLS' })
  assert.match(started.callId, /^callback\./)
  const asArray = new pkg.Client({ webhookUrl: portal.info.webhook_url, rootCertificates: [portal.info.ca_pem], ...FAST })
  assert.ok((await asArray.voices()).length > 0)
})

test('without it the handshake fails: transport, nothing sent', async () => {
  const client = new pkg.Client({ webhookUrl: portal.info.webhook_url, ...FAST })
  const e = await rejectsWith(client.startCallback({ line: 'reg1', to: '+12015550143', text: 'x' }), 'transport')
  assert.equal(e.retrySafe, true)
  assert.doesNotMatch(e.message, /fakewebhooksecret0001/)
})
