// The package as a user gets it: `npm pack`, installed from the tarball into a fresh project,
// then loaded by name from CommonJS and ESM and used against the fake portal.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { nodeDir, startPortal } from './helpers.mjs'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
let dir
let portal

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'b24cb-pack-'))
  portal = await startPortal()
})

after(() => {
  portal?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

test('the packed tarball installs into a fresh project and starts a callback', () => {
  execFileSync(npm, ['pack', '--silent', '--pack-destination', dir], { cwd: nodeDir, stdio: ['ignore', 'ignore', 'inherit'] })
  const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'))
  assert.equal(tarballs.length, 1, `one tarball expected, got ${tarballs}`)

  const app = path.join(dir, 'app')
  mkdirSync(app)
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
  // The package has no runtime dependencies, so this needs no registry.
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', path.join(dir, tarballs[0])], {
    cwd: app,
    stdio: ['ignore', 'ignore', 'inherit'],
  })

  const script = `
const { Client, CallbackError } = require('bitrix24-callback')
const client = new Client({ webhookUrl: process.env.WEBHOOK, rateLimit: 'off' })
client.startCallback({ line: 'reg1', to: '+12015550123', text: 'From the tarball' })
  .then(async (started) => {
    let code
    try { await client.startCallback({ line: 'nope', to: '+12015550124', text: 'x' }) } catch (e) { code = e instanceof CallbackError && e.code }
    console.log(JSON.stringify({ callId: started.callId, code }))
  })
  .catch((e) => { console.error(e); process.exit(1) })
`
  writeFileSync(path.join(app, 'main.cjs'), script)
  writeFileSync(path.join(app, 'main.mjs'), `import { version } from 'bitrix24-callback'\nconsole.log(JSON.stringify({ version: version() }))\n`)
  const env = { ...process.env, WEBHOOK: portal.info.webhook_url }
  const out = JSON.parse(execFileSync(process.execPath, ['main.cjs'], { cwd: app, env, encoding: 'utf8' }))
  assert.match(out.callId, /^callback\.[0-9a-f]{32}\.\d+$/)
  assert.equal(out.code, 'line_not_found')
  const esm = JSON.parse(execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' }))
  assert.match(esm.version, /^\d+\.\d+\.\d+/)
})
