// bitrix24-callback/testing: the fake portal in-process, as an application's tests use it.
import assert from 'node:assert/strict'
import util from 'node:util'
import { test } from 'node:test'

import { FAST, FakePortal, pkg, rejectsWith } from './helpers.mjs'

const { Client } = pkg

test('start, use, inspect and close a portal', async () => {
  const portal = await FakePortal.start({ burst: 100, drainPerSecond: 100, stageMs: 20, lines: { main: 'Main line' } })
  try {
    assert.match(portal.webhookUrl, /^http:\/\/127\.0\.0\.1:\d+\/rest\/1\/\w+\/$/)
    assert.equal(portal.caPem, null)
    assert.equal(portal.clientEndpoint, `${portal.baseUrl}/rest/`)
    assert.doesNotMatch(util.inspect(portal), /fakewebhooksecret0001/)
    const client = new Client({ webhookUrl: portal.webhookUrl, ...FAST })
    assert.deepEqual(await client.lines(), [{ id: 'main', name: 'Main line' }])
    const started = await client.startCallback({ line: 'main', to: '+12015550101', text: 'Hello' })
    const [entry] = portal.ledger()
    assert.deepEqual(
      { callId: entry.callId, line: entry.line, number: entry.number, text: entry.text, voice: entry.voice },
      { callId: started.callId, line: 'main', number: '+12015550101', text: 'Hello', voice: null },
    )
    const record = await client.waitForOutcome(started.callId, { timeoutMs: 5000 })
    assert.equal(record.outcome, 'busy')
    assert.equal(portal.call(started.callId).outcome, 'busy')
    assert.equal(portal.stats().callsPlaced, 1)
    assert.ok(portal.requests().some((r) => r.restMethod === 'voximplant.callback.start' && r.status === 200))
    portal.addFault({ kind: 'overload', method: 'voximplant.callback.start' })
    await rejectsWith(client.startCallback({ line: 'main', to: '+12015550110', text: 'x' }), 'portal_error')
    portal.addFault({ kind: 'respond', method: 'voximplant.callback.start', status: 200, body: { result: { RESULT: false } } })
    await rejectsWith(client.startCallback({ line: 'main', to: '+12015550111', text: 'x' }), 'outcome_unknown')
    await portal.configure({ outgoingCallPermission: false })
    await rejectsWith(client.startCallback({ line: 'main', to: '+12015550112', text: 'x' }), 'access_denied')
    portal.reset()
    assert.deepEqual(portal.ledger(), [])
  } finally {
    await portal.close()
  }
  await portal.close()
  assert.match(util.inspect(portal), /closed: true/)
  assert.throws(() => portal.ledger(), /closed/)
})

test('OAuth tokens: issue, expire, refresh', async () => {
  const portal = await FakePortal.start()
  try {
    const info = portal.info()
    const t = portal.issueTokens()
    const pairs = []
    const client = Client.fromOAuth({
      clientId: info.oauthClientId,
      clientSecret: info.oauthClientSecret,
      accessToken: t.accessToken,
      refreshToken: t.refreshToken,
      clientEndpoint: portal.clientEndpoint,
      serverEndpoint: portal.serverEndpoint,
      onTokens: (pair) => pairs.push(pair),
      ...FAST,
    })
    portal.expireAccessTokens()
    await client.voices()
    assert.equal(pairs.length, 1)
    assert.equal(portal.stats().refreshes, 1)
  } finally {
    await portal.close()
  }
})

test('TLS: trust the portal through caPem; Symbol.asyncDispose closes it', async () => {
  const portal = await FakePortal.start({ tls: true })
  try {
    assert.match(portal.baseUrl, /^https:/)
    assert.match(portal.caPem, /BEGIN CERTIFICATE/)
    const client = new Client({ webhookUrl: portal.webhookUrl, rootCertificates: portal.caPem, ...FAST })
    assert.ok((await client.lines()).length > 0)
  } finally {
    // What `await using portal = ...` calls (Node 22+ syntax; the symbol exists on Node 20).
    await portal[Symbol.asyncDispose]()
  }
  assert.throws(() => portal.ledger(), /closed/)
})

test('bad options and faults are TypeErrors naming what is wrong', async () => {
  await assert.rejects(FakePortal.start({ brust: 5 }), (e) => e instanceof TypeError && /unknown field `brust`/.test(e.message))
  await assert.rejects(FakePortal.start({ burst: -1 }), (e) => e instanceof TypeError && /`burst`/.test(e.message))
  await assert.rejects(FakePortal.start('tls'), TypeError)
  assert.throws(() => new FakePortal(), TypeError)
  const portal = await FakePortal.start()
  try {
    assert.throws(() => portal.addFault({ kind: 'meltdown' }), /`kind` must be one of/)
    assert.throws(() => portal.addFault({ kind: 'overload', delayMs: 5 }), /`delayMs` does not apply/)
    assert.throws(() => portal.addFault({ kind: 'overload', tiems: 5 }), /unknown field `tiems`/)
    assert.throws(() => portal.addFault({ kind: 'respond', status: 99 }), TypeError)
  } finally {
    await portal.close()
  }
})
