// The shared vectors in tests/vectors/ (the same files every language runs).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'

import { pkg, repoRoot } from './helpers.mjs'

const { CallbackError, Client, classifyResponse, maskNumber, parseEvent, validateRequest } = pkg
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

/** `allowed_regions` -> `allowedRegions`: the vectors spell options as the core does. */
const camel = (key) => key.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

test('policy.json: every case through checkCallback, with a client built from its policy', async () => {
  const { cases } = load('policy.json')
  assert.ok(cases.length >= 30)
  for (const c of cases) {
    const destinationPolicy = Object.fromEntries(Object.entries(c.policy).map(([k, v]) => [camel(k), v]))
    const client = new Client({ webhookUrl: 'http://127.0.0.1:9/rest/1/policyvectors01/', destinationPolicy })
    const checked = client.checkCallback({ line: 'reg1', to: c.number, text: 'policy vector' })
    if ('code' in c.expect) {
      let err
      try {
        await checked
      } catch (e) {
        err = e
      }
      assert.ok(err instanceof CallbackError, `${c.name}: expected a CallbackError`)
      assert.equal(err.code, 'destination_blocked', `${c.name}: ${err.message}`)
      assert.equal(err.retrySafe, true, c.name)
      assert.deepEqual(err.violations.map((v) => [v.field, v.code]), [['TO_NUMBER', c.expect.code]], c.name)
    } else {
      const d = await checked
      assert.deepEqual([d.region, d.numberType], [c.expect.region ?? null, c.expect.type], c.name)
    }
  }
})

test('numbers.json: libphonenumber\'s answer for every case, through validateRequest', () => {
  const v = load('numbers.json')
  assert.equal(v.metadata_version, '9.0.42')
  assert.ok(v.examples.length > 1000)
  const disagreements = []
  let checked = 0
  for (const section of ['examples', 'cases_of_interest', 'random']) {
    for (const c of v[section]) {
      checked++
      const input = { line: 'reg1', to: c.input, text: 'oracle', defaultRegion: c.region_given ?? undefined }
      let got
      try {
        const r = validateRequest(input)
        // The E.164 form is only in the wire body; the rest is what the result shows.
        got = [JSON.parse(r.wireBody).TO_NUMBER, r.maskedNumber, r.destinationRegion, r.numberType]
      } catch (e) {
        got = e instanceof CallbackError ? e.violations.map((x) => x.code) : String(e)
      }
      let want = [c.e164, maskNumber(c.e164 ?? ''), c.region, c.type]
      if (!c.parsed) want = ['unparsable']
      else if (!c.valid) want = ['invalid_number']
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        disagreements.push(`${section}: ${c.input}: ${JSON.stringify(got)} (oracle ${JSON.stringify(want)})`)
      }
    }
  }
  assert.ok(checked > 5000, String(checked))
  assert.deepEqual(disagreements.slice(0, 40), [], `${disagreements.length} of ${checked} disagree`)
})
