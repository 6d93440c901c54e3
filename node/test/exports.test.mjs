// ESM and CommonJS give the same names (the main module and the testing module), and what
// index.d.ts declares as values is exactly what index.js exports.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import * as esm from '../index.mjs'
import * as esmTesting from '../testing.mjs'
import { pkg, require } from './helpers.mjs'

const names = (m) => Object.keys(m).filter((k) => k !== 'default').sort()

test('index.mjs exports exactly the names of index.js, as the same values', () => {
  assert.deepEqual(names(esm), names(pkg))
  for (const k of names(pkg)) assert.equal(esm[k], pkg[k], k)
  assert.equal(esm.default, pkg)
  for (const k of ['CallOutcome', 'ErrorCode', 'NumberType', 'CallbackError', 'Client']) assert.ok(k in esm, k)
  assert.equal(esm.ErrorCode.OutcomeUnknown, 'outcome_unknown')
  assert.equal(esm.CallOutcome.NoAnswer, 'no_answer')
  assert.equal(esm.NumberType.PremiumRate, 'premium_rate')
})

test('testing.mjs exports exactly the names of testing.js', () => {
  const cjs = require('../testing.js')
  assert.deepEqual(names(esmTesting), names(cjs))
  assert.equal(esmTesting.FakePortal, cjs.FakePortal)
})

test('the values index.d.ts declares are the ones index.js exports', () => {
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
  const declared = new Set()
  for (const m of dts.matchAll(/^export declare (?:class|function|const|enum) (\w+)/gm)) declared.add(m[1])
  // napi-rs declares string enums as types (`export type ErrorCode = ...`); their runtime objects
  // are exported all the same.
  for (const m of dts.matchAll(/^export type (\w+) =/gm)) if (m[1] in pkg) declared.add(m[1])
  assert.deepEqual([...declared].sort(), names(pkg))
})
