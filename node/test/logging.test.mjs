// The logger option and the environment switch: the core's records (masked numbers, never a
// secret) reach a logger object or function, or stderr when BITRIX24_CALLBACK_LOG / DEBUG ask.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, before, test } from 'node:test'

import { FAST, pkg, rejectsWith, startPortal } from './helpers.mjs'

const { Client } = pkg
let portal
before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

const settle = () => new Promise((r) => setTimeout(r, 50))

test('a logger object gets the records of its client, by level, numbers masked', async () => {
  const got = { debug: [], info: [], warn: [], error: [] }
  const logger = Object.fromEntries(Object.keys(got).map((l) => [l, (m) => got[l].push(m)]))
  const client = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, logger })
  const quiet = new Client({ webhookUrl: portal.info.webhook_url, ...FAST })
  await quiet.startCallback({ line: 'reg1', to: '+12015550170', text: 'not logged' })
  const started = await client.startCallback({ line: 'reg1', to: '+12015550171', text: 'logged' })
  await settle()
  assert.ok(got.debug.some((m) => m.startsWith('voximplant.callback.start -> ')), got.debug.join('\n'))
  assert.ok(got.info.some((m) => m.includes(started.callId)), got.info.join('\n'))
  assert.ok(got.info.some((m) => m.includes('+120******71')))
  const all = Object.values(got).flat().join('\n')
  assert.doesNotMatch(all, /2015550171|2015550170|fakewebhooksecret0001/)
  assert.ok(!all.includes('+120******70'), "another client's records do not reach this logger")
})

test('a logger function gets (level, message); a level without a method is not sent', async () => {
  const seen = []
  const client = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, logger: (level, message) => seen.push([level, message]) })
  await client.lines()
  await settle()
  assert.ok(seen.some(([l, m]) => l === 'debug' && m.startsWith('voximplant.line.get')), JSON.stringify(seen))
  const warnings = []
  const warnOnly = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, logger: { warn: (m) => warnings.push(m) } })
  // A connection closed before any answer: the exchange fails, a warning.
  await portal.fault('close_after_execute', { method: 'voximplant.callback.start', times: 1 })
  await rejectsWith(warnOnly.startCallback({ line: 'reg1', to: '+12015550172', text: 'x' }), 'outcome_unknown')
  await warnOnly.lines()
  await settle()
  assert.ok(warnings.length >= 1, 'the failed exchange was a warning')
  assert.ok(warnings.every((m) => !m.startsWith('voximplant.line.get')), 'no debug records')
})

test('a logger that throws changes nothing', async () => {
  const client = new Client({ webhookUrl: portal.info.webhook_url, ...FAST, logger: () => { throw new Error('logger down') } })
  const started = await client.startCallback({ line: 'reg1', to: '+12015550173', text: 'x' })
  await settle()
  assert.match(started.callId, /^callback\./)
})

const CHILD = `
const pkg = require(process.env.INDEX)
const client = new pkg.Client({ webhookUrl: process.env.WEBHOOK, rateLimit: 'off', destinationPolicy: { numberCooldownMs: 0 } })
client.startCallback({ line: 'reg1', to: '+12015550174', text: 'x' }).then(() => client.lines())
`
const child = (env) =>
  spawnSync(process.execPath, ['-e', CHILD], {
    env: { ...process.env, BITRIX24_CALLBACK_LOG: '', DEBUG: '', INDEX: new URL('../index.js', import.meta.url).pathname, WEBHOOK: portal.info.webhook_url, ...env },
    encoding: 'utf8',
  })

test('BITRIX24_CALLBACK_LOG and DEBUG=bitrix24-callback log to stderr when no logger is given', async () => {
  // spawnSync is fine: the fake portal of this process answers from threads of its own.
  const run = child
  const silent = run({})
  assert.equal(silent.status, 0, silent.stderr)
  assert.equal(silent.stderr, '')
  const debug = run({ DEBUG: 'express:*,bitrix24-callback' })
  assert.match(debug.stderr, /^bitrix24-callback debug: voximplant\.callback\.start -> /m)
  assert.match(debug.stderr, /^bitrix24-callback info: voximplant\.callback\.start to \+120\*{6}74: started/m)
  const info = run({ BITRIX24_CALLBACK_LOG: 'info' })
  assert.match(info.stderr, /^bitrix24-callback info: /m)
  assert.doesNotMatch(info.stderr, /debug:/)
  for (const r of [debug, info]) assert.doesNotMatch(r.stderr, /2015550174|fakewebhooksecret0001/)
})
