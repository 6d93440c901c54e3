// The shared vectors in tests/vectors/ (the same files every language runs).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'

import { pkg, repoRoot } from './helpers.mjs'

const { CallbackError, classifyResponse, parseEvent, validateRequest } = pkg
const load = (name) => JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'vectors', name), 'utf8'))

test('requests.json: wire bodies and violations', () => {
  const { cases } = load('requests.json')
  assert.ok(cases.length > 0)
  for (const c of cases) {
    const i = c.input
    const input = {
      line: i.from_line,
      to: i.to_number,
      text: i.text,
      voice: i.voice ?? undefined,
      defaultRegion: i.default_region ?? undefined,
      allowUnknownVoice: i.allow_unknown_voice ?? undefined,
    }
    if ('wire_body' in c.expect) {
      const r = validateRequest(input)
      assert.equal(r.wireBody, c.expect.wire_body, c.name)
    } else {
      let err
      try {
        validateRequest(input)
      } catch (e) {
        err = e
      }
      assert.ok(err instanceof CallbackError, `${c.name}: expected a CallbackError`)
      assert.equal(err.code, 'invalid_request', c.name)
      assert.equal(err.retrySafe, true, c.name)
      assert.deepEqual(
        err.violations.map((v) => ({ field: v.field, code: v.code })),
        c.expect.violations.map((v) => ({ field: v.field, code: v.code })),
        c.name,
      )
    }
  }
})

test('responses.json: classification', () => {
  const { cases } = load('responses.json')
  assert.ok(cases.length > 0)
  for (const c of cases) {
    const got = classifyResponse(c.http_status, c.body)
    if (c.expect.ok) {
      assert.equal(got, null, c.name)
    } else {
      assert.ok(got instanceof CallbackError, `${c.name}: expected a CallbackError`)
      assert.equal(got.code, c.expect.code, c.name)
      assert.equal(got.retrySafe, c.expect.retry_safe, c.name)
      assert.equal(got.bitrixCode, c.expect.bitrix_code ?? null, c.name)
    }
    // Buffers are accepted as well as strings.
    const again = classifyResponse(c.http_status, Buffer.from(c.body, 'utf8'))
    assert.equal(again === null, got === null, c.name)
  }
})

test('events.json: parsing and the application token', () => {
  const { application_token: token, cases } = load('events.json')
  assert.ok(cases.length > 0)
  for (const c of cases) {
    if ('code' in c.expect) {
      assert.throws(
        () => parseEvent(c.body, token),
        (e) => e instanceof CallbackError && e.code === c.expect.code,
        c.name,
      )
    } else {
      const ev = parseEvent(c.body, token)
      assert.equal(ev.event, c.expect.event, c.name)
      assert.equal(ev.callId, c.expect.call_id ?? null, c.name)
      if ('outcome' in c.expect) assert.equal(ev.outcome, c.expect.outcome ?? null, c.name)
    }
  }
})
