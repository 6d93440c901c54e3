// The Node contenders of the benchmark (benches/run starts each as a fresh process).
//
//   node node_client.mjs seq --client NAME --url WEBHOOK --calls N [--warmup N] [--ca PEM_FILE]
//   node node_client.mjs conc --url WEBHOOK --threads P --calls N_PER_PROMISE_CHAIN
//   node node_client.mjs paced --url WEBHOOK --calls N --burst B --drain D [--shared-state URL]
//       [--prefix P] [--start-at UNIX_MS]
//   node node_client.mjs validate --vectors tests/vectors/numbers.json [--rounds R]
//
// NAME: ours (the npm package bitrix24-callback: client.startCallback), fetch (Node's global
// fetch), undici (undici.Pool#request), axios (an instance with a keep-alive agent), b24jssdk
// (the official SDK: new B24Hook(...).actions.v2.call.make, its own rate limiter lifted; on a
// plain-http server its hard-wired https:// is replaced by http://).
// Packages are resolved from $B24_BENCH_NODE_PROJECT (the scratch npm project benches/run
// installs them into). Prints one line of JSON; CPU is process.cpuUsage() (every thread).
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { createRequire } from 'node:module'
import path from 'node:path'

const project = process.env.B24_BENCH_NODE_PROJECT || process.cwd()
const require = createRequire(path.join(project, 'package.json'))

const LINE = 'reg1'
const NUMBER = '+12015550123'
const TEXT = 'A visitor asked for a call back'
const METHOD = 'voximplant.callback.start'
const BODY = { FROM_LINE: LINE, TO_NUMBER: NUMBER, TEXT_TO_PRONOUNCE: TEXT }
// A few countries (fewer calling codes than the core keeps compiled); as in python_client.py.
const WORKING_SET_REGIONS = new Set(['US', 'CA', 'GB', 'DE', 'FR', 'IT', 'ES', 'PL', 'NL', 'BR', 'MX', 'IN', 'TR', 'UA', 'KZ', 'AU'])

function argsOf(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`expected --NAME VALUE at ${argv[i]}`)
    out[argv[i].slice(2)] = argv[i + 1]
  }
  return out
}

const methodUrl = (webhook) => webhook.replace(/\/+$/, '') + '/' + METHOD
const caOf = (a) => (a.ca ? readFileSync(a.ca, 'utf8') : undefined)

function rss() {
  const status = readFileSync('/proc/self/status', 'utf8')
  const field = (name) => Number((status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm')) || [])[1] || 0)
  return { rss_kib: field('VmRSS'), hwm_kib: field('VmHWM') }
}

function summary(samples, wallNs, cpu, calls) {
  const s = [...samples].sort((x, y) => x - y)
  const pick = (p) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] / 1e3 : 0)
  return {
    calls,
    wall_s: Number(wallNs) / 1e9,
    us_per_call: Number(wallNs) / 1e3 / Math.max(calls, 1),
    cpu_us_per_call: (cpu.user + cpu.system) / Math.max(calls, 1),
    min_us: s.length ? s[0] / 1e3 : 0,
    p50_us: pick(0.5),
    p99_us: pick(0.99),
    max_us: s.length ? s[s.length - 1] / 1e3 : 0,
    ...rss(),
  }
}

function oursClient(a, extra = {}) {
  const { Client } = require('bitrix24-callback')
  const ca = caOf(a)
  return new Client({
    webhookUrl: a.url,
    rateLimit: 'off',
    destinationPolicy: { numberCooldownMs: 0, numberHourlyCap: 0 },
    timeoutMs: 30000,
    deadlineMs: 120000,
    ...(ca ? { rootCertificates: ca } : {}),
    ...extra,
  })
}

/** The contender's one call, set up (client, pool, agent) once. */
function makeCall(name, a) {
  const url = methodUrl(a.url)
  const json = JSON.stringify(BODY)
  const headers = { 'content-type': 'application/json', accept: 'application/json' }
  const ca = caOf(a)
  const check = (answer) => {
    if (!answer || answer.result === undefined) throw new Error('no result in the answer')
  }
  if (name === 'ours') {
    const client = oursClient(a)
    return async () => {
      await client.startCallback({ line: LINE, to: NUMBER, text: TEXT })
    }
  }
  if (name === 'fetch') {
    // Node's fetch trusts NODE_EXTRA_CA_CERTS, which benches/run sets for the TLS runs.
    return async () => {
      const r = await fetch(url, { method: 'POST', headers, body: json })
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`)
      check(await r.json())
    }
  }
  if (name === 'undici') {
    const undici = require('undici')
    const u = new URL(url)
    const pool = new undici.Pool(u.origin, ca ? { connect: { ca } } : {})
    const p = u.pathname
    return async () => {
      const r = await pool.request({ path: p, method: 'POST', headers, body: json })
      if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}`)
      check(await r.body.json())
    }
  }
  if (name === 'axios') {
    const axios = require('axios')
    const client = axios.create({
      httpAgent: new http.Agent({ keepAlive: true }),
      httpsAgent: new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) }),
      timeout: 30000,
    })
    return async () => {
      const r = await client.post(url, BODY, { headers })
      check(r.data)
    }
  }
  if (name === 'b24jssdk') {
    const { B24Hook } = require('@bitrix24/b24jssdk')
    const u = new URL(a.url)
    const [, userId, secret] = u.pathname.split('/').filter(Boolean)
    // The SDK's own bucket (burst 50, 2 per second) would pace a benchmark to 2 calls a
    // second: lifted, like ours is turned off. Everything else is the SDK's default.
    const hook = new B24Hook(
      { b24Url: u.origin, userId: Number(userId), secret },
      { restrictionParams: { rateLimit: { burstLimit: 1e9, drainRate: 1e9, adaptiveEnabled: false } } },
    )
    hook.offClientSideWarning()
    if (u.protocol === 'http:') {
      // The SDK always builds https:// addresses; against the plain-http server only the scheme
      // is changed (in the map of base addresses it keeps), everything else is the SDK's own.
      const bases = hook.auth.getTargetOriginWithPath()
      for (const [version, base] of bases) bases.set(version, base.replace(/^https:/, 'http:'))
    }
    return async () => {
      const r = await hook.actions.v2.call.make({ method: METHOD, params: BODY })
      if (!r.isSuccess) throw new Error(r.getErrorMessages().join('; '))
    }
  }
  throw new Error(`unknown --client ${name}`)
}

async function seq(a) {
  const calls = Number(a.calls || 1000)
  const warmup = Number(a.warmup || 1)
  const call = makeCall(a.client, a)
  let firstUs = 0
  for (let i = 0; i < warmup; i++) {
    const c0 = process.hrtime.bigint()
    await call()
    if (i === 0) firstUs = Number(process.hrtime.bigint() - c0) / 1e3
  }
  const samples = []
  const errors = {}
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) {
    const c0 = process.hrtime.bigint()
    try {
      await call()
    } catch (e) {
      const key = String(e.code || e.name || 'Error')
      errors[key] = (errors[key] || 0) + 1
    }
    samples.push(Number(process.hrtime.bigint() - c0))
  }
  const wall = process.hrtime.bigint() - t0
  const out = summary(samples, wall, process.cpuUsage(cpu0), calls)
  return { client: a.client, ...out, first_us: firstUs, errors }
}

async function conc(a) {
  const chains = Number(a.threads || 4)
  const perChain = Number(a.calls || 200)
  const client = oursClient(a)
  const one = () => client.startCallback({ line: LINE, to: NUMBER, text: TEXT })
  await one()
  const samples = []
  let errors = 0
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: chains }, async () => {
      for (let i = 0; i < perChain; i++) {
        const c0 = process.hrtime.bigint()
        try {
          await one()
        } catch {
          errors++
        }
        samples.push(Number(process.hrtime.bigint() - c0))
      }
    }),
  )
  const wall = process.hrtime.bigint() - t0
  const total = chains * perChain
  const out = summary(samples, wall, process.cpuUsage(cpu0), total)
  return { client: 'ours', threads: chains, ...out, calls_per_s: total / (Number(wall) / 1e9), errors }
}

async function paced(a) {
  const { validateRequest } = require('bitrix24-callback')
  const calls = Number(a.calls || 300)
  const extra = { rateLimit: { burst: Number(a.burst || 20), perSecond: Number(a.drain || 10) } }
  if (a['shared-state']) Object.assign(extra, { sharedState: a['shared-state'], sharedStatePrefix: a.prefix })
  const client = oursClient(a, extra)
  validateRequest({ line: LINE, to: NUMBER, text: TEXT }) // metadata loaded first
  if (a['start-at']) await new Promise((r) => setTimeout(r, Math.max(0, Number(a['start-at']) - Date.now())))
  const errors = {}
  let ok = 0
  const startMs = Date.now()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) {
    try {
      await client.startCallback({ line: LINE, to: NUMBER, text: TEXT })
      ok++
    } catch (e) {
      errors[e.code] = (errors[e.code] || 0) + 1
    }
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  return { client: 'ours', calls, ok, errors, wall_s: wall, start_ms: startMs, end_ms: Date.now() }
}

function validate(a) {
  const rssStart = rss().rss_kib
  const { validateRequest } = require('bitrix24-callback')
  const rssLoaded = rss().rss_kib
  const all = JSON.parse(readFileSync(a.vectors, 'utf8')).examples
  const examples = all.map((e) => e.input)
  const workingSet = all.filter((e) => WORKING_SET_REGIONS.has(e.region)).map((e) => e.input)
  const rounds = Number(a.rounds || 5)
  const build = (to) => validateRequest({ line: LINE, to, text: TEXT })
  const now = () => Number(process.hrtime.bigint()) / 1e3
  let t0 = now()
  build(NUMBER)
  const first = now() - t0
  const rssAfterUs = rss().rss_kib
  const n = 2000 * Math.max(rounds, 1)
  t0 = now()
  for (let i = 0; i < n; i++) build(NUMBER)
  const usNumber = (now() - t0) / n
  let refused = 0
  const passes = (numbers) => {
    let t = now()
    for (const number of numbers) {
      try {
        build(number)
      } catch {
        refused++
      }
    }
    const firstPass = (now() - t) / numbers.length
    const rssNow = rss().rss_kib
    t = now()
    for (let r = 0; r < rounds; r++) {
      for (const number of numbers) {
        try {
          build(number)
        } catch {}
      }
    }
    return [firstPass, rounds ? (now() - t) / (rounds * numbers.length) : null, rssNow]
  }
  const [wsFirst, wsWarm, rssAfterWs] = passes(workingSet)
  const [mixedFirst, mixedWarm, rssAfterAll] = passes(examples)
  const end = rss()
  return {
    client: 'ours',
    numbers: examples.length,
    working_set_numbers: workingSet.length,
    refused,
    first_number_us: first,
    us_number_us: usNumber,
    ws_first_pass_us: wsFirst,
    ws_us: wsWarm,
    rss_after_ws_kib: rssAfterWs,
    mixed_first_pass_us: mixedFirst,
    mixed_us: mixedWarm,
    rss_start_kib: rssStart,
    rss_before_first_kib: rssLoaded,
    rss_after_us_kib: rssAfterUs,
    rss_after_all_kib: rssAfterAll,
    rss_end_kib: end.rss_kib,
    hwm_kib: end.hwm_kib,
  }
}

const [command, ...rest] = process.argv.slice(2)
const runs = { seq, conc, paced, validate }
if (!runs[command]) {
  console.error('usage: node node_client.mjs seq|conc|paced|validate --NAME VALUE ...')
  process.exit(2)
}
const out = await runs[command](argsOf(rest))
process.stdout.write(JSON.stringify(out) + '\n')
// The addon's and the agents' handles must not keep a finished run alive.
process.exit(0)
