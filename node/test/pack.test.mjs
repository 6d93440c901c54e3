// The package as a user gets it. The release build (stripped, no test hooks) is staged exactly
// as the release job stages it (`napi create-npm-dirs`, the addon moved into its platform
// package, the licenses copied, `optionalDependencies` as `napi prepublish` writes them), both
// packages are packed, installed from the tarballs into a fresh project offline, and used from
// CommonJS and ESM by name, `bitrix24-callback/testing` included. Without the platform package
// the loader names it.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { nodeDir, repoRoot } from './helpers.mjs'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const napi = path.join(nodeDir, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
const PLATFORM = 'linux-x64-gnu'
const ADDON = `bitrix24-callback.${PLATFORM}.node`
let dir

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'b24cb-pack-'))
})
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
const list = (tgz) => run('tar', ['tzf', tgz], dir).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')).sort()

/** Packs `pkgDir` into `dir`, returns the tarball's path. */
function pack(pkgDir) {
  const out = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', dir], pkgDir))
  return path.join(dir, out[0].filename)
}

/** A fresh project with `tarballs` installed offline; its directory. */
function app(name, tarballs) {
  const where = path.join(dir, name)
  mkdirSync(where)
  writeFileSync(path.join(where, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }))
  run(npm, ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], where)
  return where
}

// What the installed package is asked to do, from CommonJS and from ESM: only the package and
// its testing module (the portal runs inside the script).
const USE = (imports) => `${imports}
const portal = await FakePortal.start({ burst: 1000, drainPerSecond: 1000, stageMs: 20 })
try {
  const logs = []
  const client = new Client({ webhookUrl: portal.webhookUrl, rateLimit: 'off', logger: (level) => logs.push(level) })
  const started = await client.startCallback({ line: 'reg1', to: '+12015550101', text: 'From the tarball' })
  const record = await client.waitForOutcome(started.callId, { timeoutMs: 10000 })
  const code = async (p) => p.then(() => 'ok', (e) => (e instanceof CallbackError ? e.code : e.name))
  // Not a release build's line: the test hook is not there, the portal does not know the line.
  const hook = await code(client.startCallback({ line: 'test-hook:panic', to: '+12015550102', text: 'x' }))
  const unknown = await code(client.startCallback({ line: 'reg1', to: '+12015550103', text: 'x', tex: 'y' }))
  console.log(JSON.stringify({ callId: started.callId, outcome: record.outcome, hook, unknown, ledger: portal.ledger().length, logged: logs.length > 0, codes: Object.keys(ErrorCode).length, version: version() }))
} finally {
  await portal.close()
}
`

test('the packed release packages install into a fresh project and work from CJS and ESM', () => {
  const built = path.join(nodeDir, 'artifacts', ADDON)
  assert.ok(existsSync(built), `${built} is missing: run \`npm run build:release\` first`)
  const licenses = ['LICENSE-MIT', 'LICENSE-APACHE'].map((f) => path.join(repoRoot, f))
  for (const f of licenses) assert.ok(existsSync(f), `${f} is missing: the packages must ship it`)

  // Stage the package the way the release job does, in a copy of the repository's layout.
  const repo = path.join(dir, 'repo')
  const stage = path.join(repo, 'node')
  mkdirSync(stage, { recursive: true })
  for (const f of licenses) cpSync(f, path.join(repo, path.basename(f)))
  const manifest = JSON.parse(readFileSync(path.join(nodeDir, 'package.json'), 'utf8'))
  for (const f of [...manifest.files.filter((f) => existsSync(path.join(nodeDir, f))), 'package.json', 'scripts']) {
    cpSync(path.join(nodeDir, f), path.join(stage, f), { recursive: true })
  }
  run(process.execPath, [napi, 'create-npm-dirs'], stage)
  const platformDir = path.join(stage, 'npm', PLATFORM)
  cpSync(built, path.join(platformDir, ADDON))
  run(process.execPath, ['scripts/licenses.mjs', 'copy', platformDir], stage)
  const staged = JSON.parse(readFileSync(path.join(stage, 'package.json'), 'utf8'))
  staged.optionalDependencies = Object.fromEntries(
    readdirSync(path.join(stage, 'npm')).map((d) => [`${staged.name}-${d}`, staged.version]),
  )
  assert.equal(Object.keys(staged.optionalDependencies).length, manifest.napi.targets.length)
  writeFileSync(path.join(stage, 'package.json'), JSON.stringify(staged, null, 2))

  const main = pack(stage)
  const platform = pack(platformDir)
  assert.deepEqual(list(main), [
    'LICENSE-APACHE', 'LICENSE-MIT', 'README.md', 'index.d.ts', 'index.js', 'index.mjs', 'native.js',
    'package.json', 'testing.d.ts', 'testing.js', 'testing.mjs',
  ])
  assert.deepEqual(list(platform), ['LICENSE-APACHE', 'LICENSE-MIT', 'README.md', ADDON, 'package.json'])
  assert.ok(!existsSync(path.join(stage, 'LICENSE-MIT')), 'postpack removed the copies')
  const addonSize = statSync(built).size
  assert.ok(addonSize < 20e6, `a stripped release addon (${addonSize} bytes), not a debug build`)
  const sizes = { main: statSync(main).size, platform: statSync(platform).size, addon: addonSize }
  process.stdout.write(`# pack sizes: ${JSON.stringify(sizes)}\n`)

  const where = app('app', [main, platform])
  writeFileSync(path.join(where, 'main.cjs'), `(async () => {\n${USE("const { Client, CallbackError, ErrorCode, version } = require('bitrix24-callback')\nconst { FakePortal } = require('bitrix24-callback/testing')")}})().catch((e) => { console.error(e); process.exit(1) })\n`)
  writeFileSync(path.join(where, 'main.mjs'), USE("import { Client, CallbackError, ErrorCode, version } from 'bitrix24-callback'\nimport { FakePortal } from 'bitrix24-callback/testing'"))
  for (const script of ['main.cjs', 'main.mjs']) {
    const out = JSON.parse(run(process.execPath, [script], where))
    assert.match(out.callId, /^callback\.[0-9a-f]{32}\.\d+$/, script)
    assert.deepEqual(
      { ...out, callId: undefined },
      { callId: undefined, outcome: 'busy', hook: 'line_not_found', unknown: 'invalid_request', ledger: 1, logged: true, codes: 13, version: manifest.version },
      script,
    )
  }
  // The installed package resolved its addon from the platform package.
  assert.ok(existsSync(path.join(where, 'node_modules', `bitrix24-callback-${PLATFORM}`, ADDON)))
  assert.ok(!existsSync(path.join(where, 'node_modules', 'bitrix24-callback', ADDON)))

  // On another platform (process.platform and .arch faked before the package loads), the loader
  // names the package that platform needs, or the platforms there are builds for.
  const elsewhere = (platform, arch) => spawnSync(process.execPath, [
    '-e', `Object.defineProperty(process, 'platform', { value: '${platform}' }); Object.defineProperty(process, 'arch', { value: '${arch}' }); require('bitrix24-callback')`,
  ], { cwd: where, encoding: 'utf8' }).stderr
  assert.match(elsewhere('linux', 'arm64'), new RegExp(`no native build for linux-arm64-gnu; install bitrix24-callback-linux-arm64-gnu@${manifest.version}`))
  assert.match(elsewhere('darwin', 'arm64'), /no native build for darwin-arm64; install bitrix24-callback-darwin-arm64@/)
  assert.match(elsewhere('win32', 'x64'), /no native build for win32-x64-msvc; install bitrix24-callback-win32-x64-msvc@/)
  assert.match(elsewhere('freebsd', 'x64'), /no native build for freebsd-x64; builds exist for (.*, )?linux-x64-gnu(, .*)?, win32-x64-msvc \(/)
  assert.doesNotMatch(elsewhere('linux', 'arm64'), /npm has a bug/)

  // Without the platform package (`--omit=optional`, a lock file from another platform): the
  // loader says what to install.
  const bare = app('bare', [main])
  const r = spawnSync(process.execPath, ['-e', "require('bitrix24-callback')"], { cwd: bare, encoding: 'utf8' })
  assert.notEqual(r.status, 0)
  assert.match(r.stderr, new RegExp(`bitrix24-callback: no native build for ${PLATFORM}; install bitrix24-callback-${PLATFORM}@${manifest.version}`))
  assert.doesNotMatch(r.stderr, /npm has a bug/)
  const t = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('bitrix24-callback/testing')"], { cwd: bare, encoding: 'utf8' })
  assert.match(t.stderr, /no native build for/)
})
