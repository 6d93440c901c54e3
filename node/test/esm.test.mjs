// The package works from ESM (`import`) as well as CommonJS (`require`), by its own name.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

import { nodeDir, pkg } from './helpers.mjs'

test('import and require by package name give the same module', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'b24cb-esm-'))
  try {
    mkdirSync(path.join(dir, 'node_modules'))
    symlinkSync(nodeDir, path.join(dir, 'node_modules', 'bitrix24-callback'), 'dir')
    writeFileSync(
      path.join(dir, 'esm.mjs'),
      `import def, { Client, CallbackError, validateRequest, version } from 'bitrix24-callback'
import { createRequire } from 'node:module'
const cjs = createRequire(import.meta.url)('bitrix24-callback')
if (Client !== cjs.Client || CallbackError !== cjs.CallbackError || def !== cjs) throw new Error('ESM and CJS differ')
let code
try { validateRequest({ line: 'reg1', to: 'x', text: 'y' }) } catch (e) { code = e instanceof CallbackError && e.code }
console.log(JSON.stringify({ version: version(), code }))
`,
    )
    writeFileSync(path.join(dir, 'cjs.cjs'), `const { Client, version } = require('bitrix24-callback'); console.log(JSON.stringify({ version: version(), ok: typeof Client === 'function' }))`)
    const esm = JSON.parse(execFileSync(process.execPath, ['esm.mjs'], { cwd: dir, encoding: 'utf8' }))
    assert.deepEqual(esm, { version: pkg.version(), code: 'invalid_request' })
    const cjs = JSON.parse(execFileSync(process.execPath, ['cjs.cjs'], { cwd: dir, encoding: 'utf8' }))
    assert.deepEqual(cjs, { version: pkg.version(), ok: true })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
