// The addon loads and works inside worker_threads (each gets its own CallbackError class).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Worker } from 'node:worker_threads'

import { startPortal } from './helpers.mjs'

let portal
before(async () => {
  portal = await startPortal(['--burst', '1000', '--drain', '1000'])
})
after(() => portal.stop())

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const pkg = require(workerData.index)
;(async () => {
  const client = new pkg.Client({ webhookUrl: workerData.webhookUrl, rateLimit: 'off', destinationPolicy: { numberCooldownMs: 0 } })
  const started = await client.startCallback({ line: 'reg1', to: workerData.to, text: 'from a worker' })
  let code = null
  let isClass = false
  try { await client.startCallback({ line: 'reg1', to: 'nope', text: 'x' }) } catch (e) { code = e.code; isClass = e instanceof pkg.CallbackError && e instanceof Error }
  parentPort.postMessage({ callId: started.callId, code, isClass, version: pkg.version() })
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack) }))
`

function runWorker(to) {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, {
      eval: true,
      workerData: { index: new URL('../index.js', import.meta.url).pathname, webhookUrl: portal.info.webhook_url, to },
    })
    let msg
    w.once('message', (m) => (msg = m))
    w.once('error', reject)
    w.once('exit', (code) => (code === 0 ? resolve(msg) : reject(new Error(`worker exited ${code}`))))
  })
}

test('two workers at once, each with its own client', async () => {
  const [a, b] = await Promise.all([runWorker('+12015550129'), runWorker('+12015550132')])
  for (const m of [a, b]) {
    assert.equal(m.error, undefined)
    assert.match(m.callId, /^callback\./)
    assert.equal(m.code, 'invalid_request')
    assert.equal(m.isClass, true)
  }
  // The main thread still works after the workers were torn down.
  const pkg = (await import('./helpers.mjs')).pkg
  assert.equal(pkg.version(), a.version)
})
