// Benchmarks of the npm package bitrix24-callback: a plain Node script, no dependencies.
//
//   node node/bench/bench.mjs
//
// Loads the package from $B24_NODE_PACKAGE (a folder holding index.js, native.js, testing.js
// and the .node addon; benches/run points it at a release build), else from node/ (whatever
// `npm run build` left). The fake portal is the package's own (`bitrix24-callback/testing`) in a
// process of its own (bench/portal.mjs). Sizes: $BENCH_SCALE (default 1) multiplies the
// iteration counts.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, '..', '..')
const require = createRequire(import.meta.url)
const rssAtStart = process.memoryUsage().rss
const pkgDir = path.resolve(repoRoot, process.env.B24_NODE_PACKAGE || 'node')
const pkg = require(path.join(pkgDir, 'index.js'))
const rssAfterLoad = process.memoryUsage().rss

const NUMBER = '+12015550123' // answered by the fake portal; a valid fictional NANP number
const TEXT = 'A visitor asked for a call back'
const scale = Number(process.env.BENCH_SCALE || 1)
const n = (count) => Math.max(1, Math.round(count * scale))

/** The fake portal in a process of its own (bench/portal.mjs, from the package's testing module). */
async function startPortal() {
  const child = spawn(process.execPath, [
    path.join(here, 'portal.mjs'),
    // Lift the simulated operating budget (480 s per 10 min, 1 s per callback by default).
    JSON.stringify({ burst: 1e6, drainPerSecond: 1e6, stageMs: 3600000, operatingLimitMs: 1e12, callbackProcessingMs: 0 }),
  ], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, B24_NODE_PACKAGE: pkgDir } })
  const lines = createInterface({ input: child.stdout })
  const first = await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`fake portal exited early (code ${code})`)))
    lines.once('line', resolve)
  })
  child.removeAllListeners('exit')
  return {
    info: JSON.parse(first),
    stop() {
      lines.close()
      child.stdin.end()
    },
  }
}

const rows = []
const ns = () => process.hrtime.bigint()
const ms = (nanos) => Number(nanos) / 1e6

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** Synchronous micro-benchmark: `iterations` calls after a warm-up, reported per call. */
function measureSync(name, fn, iterations) {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn()
  const t0 = ns()
  for (let i = 0; i < iterations; i++) fn()
  const perCall = Number(ns() - t0) / iterations
  rows.push({ name, n: iterations, mean: `${(perCall / 1000).toFixed(2)} µs`, p50: '', p99: '', rate: `${Math.round(1e9 / perCall).toLocaleString('en')}/s` })
}

function latencyRow(name, samples, wallNs) {
  const sorted = [...samples].sort((a, b) => a - b)
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length
  rows.push({
    name,
    n: samples.length,
    mean: `${mean.toFixed(3)} ms`,
    p50: `${percentile(sorted, 50).toFixed(3)} ms`,
    p99: `${percentile(sorted, 99).toFixed(3)} ms`,
    rate: `${Math.round(samples.length / (Number(wallNs) / 1e9)).toLocaleString('en')}/s`,
  })
}

async function timed(fn) {
  const t0 = ns()
  await fn()
  return ms(ns() - t0)
}

function printTable(title, header, data) {
  const widths = header.map(([key, label]) => Math.max(label.length, ...data.map((r) => String(r[key]).length)))
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |'
  console.log(`\n${title}\n`)
  console.log(line(header.map(([, label]) => label)))
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|')
  for (const r of data) console.log(line(header.map(([key]) => r[key])))
}

// ----- local helpers (no network) -----
const SUCCESS = JSON.stringify({
  result: { RESULT: true, CALL_ID: 'callback.72f42b118e019a4cc47629ff60525f43.1773736077' },
  time: { start: 1773736066, finish: 1773736067.708955, duration: 1.7089550495147705, processing: 1, date_start: '2026-03-17T11:27:46+02:00', date_finish: '2026-03-17T11:27:47+02:00', operating_reset_at: 1773736666, operating: 0.9574570655822754 },
})
const ERROR = '{"error":"ERROR_CORE","error_description":"Could not find line reg000000"}'
const HTML_502 = '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>'

if (!pkg.validateRequest({ line: 'reg1', to: '+1 201-555-0123', text: TEXT }).wireBody.includes(`"${NUMBER}"`)) {
  throw new Error('validateRequest did not normalise the number')
}
measureSync('validateRequest (E.164 with spaces)', () => pkg.validateRequest({ line: 'reg1', to: '+1 201-555-0123', text: TEXT, voice: 'ukenglishfemale' }), n(20000))
measureSync('validateRequest (national, defaultRegion US)', () => pkg.validateRequest({ line: 'reg1', to: '(201) 555-0123', text: TEXT, defaultRegion: 'US' }), n(20000))
measureSync('validateRequest (4 violations, throws)', () => {
  try {
    pkg.validateRequest({ line: 'reg 1', to: '+1 201 555 0123;1', text: '', voice: 'nope' })
  } catch (e) {
    if (e.code !== 'invalid_request') throw e
    return
  }
  throw new Error('accepted an invalid request')
}, n(20000))
measureSync('classifyResponse (success)', () => pkg.classifyResponse(200, SUCCESS), n(50000))
measureSync('classifyResponse (error envelope)', () => pkg.classifyResponse(400, ERROR), n(50000))
measureSync('classifyResponse (HTML 502)', () => pkg.classifyResponse(502, HTML_502), n(50000))

// ----- through the binding, no network: argument conversion, checks, the Promise -----
const offline = new pkg.Client({ webhookUrl: 'http://127.0.0.1:9/rest/1/benchsecret000001/', rateLimit: 'off', destinationPolicy: { numberCooldownMs: 0, numberHourlyCap: 0 } })
const checkRequest = { line: 'reg1', to: '+1 201-555-0123', text: TEXT, voice: 'ukenglishfemale' }
async function measureAsync(name, fn, iterations) {
  for (let i = 0; i < Math.min(1000, iterations); i++) await fn()
  const t0 = ns()
  for (let i = 0; i < iterations; i++) await fn()
  const perCall = Number(ns() - t0) / iterations
  rows.push({ name, n: iterations, mean: `${(perCall / 1000).toFixed(2)} µs`, p50: '', p99: '', rate: `${Math.round(1e9 / perCall).toLocaleString('en')}/s` })
}
await measureAsync('checkCallback (no network)', () => offline.checkCallback(checkRequest), n(20000))
await measureAsync('startCallback, invalid input (rejects, no network)', () => offline.startCallback({ line: 'reg1', to: 'nope', text: TEXT }).catch(() => {}), n(20000))

// ----- whole calls over loopback -----
const rssAfterLocal = process.memoryUsage().rss
const portal = await startPortal()
const client = new pkg.Client({
  webhookUrl: portal.info.webhookUrl,
  rateLimit: 'off',
  destinationPolicy: { numberCooldownMs: 0, numberHourlyCap: 0 },
  timeoutMs: 10000,
  deadlineMs: 20000,
})
const call = () => client.startCallback({ line: 'reg1', to: NUMBER, text: TEXT })
for (let i = 0; i < 50; i++) await call() // warm-up: connection pool, metadata, JIT

const cpuPerCall = {}
async function sequential(name, fn, count) {
  const samples = []
  const cpu0 = process.cpuUsage()
  const t0 = ns()
  for (let i = 0; i < count; i++) samples.push(await timed(fn))
  latencyRow(name, samples, ns() - t0)
  const cpu = process.cpuUsage(cpu0)
  cpuPerCall[name] = (cpu.user + cpu.system) / count
}
await sequential('startCallback, sequential', call, n(2000))
await sequential('voices(), sequential', () => client.voices(), n(1000))
await sequential('lines(), sequential', () => client.lines(), n(1000))
const rssAfterSequential = process.memoryUsage().rss

const lag = {}
for (const inFlight of [10, 100]) {
  const rounds = n(inFlight === 100 ? 20 : 100)
  const samples = []
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  const t0 = ns()
  for (let r = 0; r < rounds; r++) {
    samples.push(...(await Promise.all(Array.from({ length: inFlight }, () => timed(call)))))
  }
  const wall = ns() - t0
  histogram.disable()
  latencyRow(`startCallback, ${inFlight} concurrent`, samples, wall)
  lag[inFlight] = histogram
}

// The same monitor on an idle loop for the same kind of span, for comparison.
const idle = monitorEventLoopDelay({ resolution: 1 })
idle.enable()
await new Promise((resolve) => setTimeout(resolve, 1000))
idle.disable()
const rssEnd = process.memoryUsage().rss
portal.stop()

const threadpool = process.env.UV_THREADPOOL_SIZE || '4 (default)'
console.log(`bitrix24-callback ${pkg.version()} from ${pkgDir}, node ${process.version}, UV_THREADPOOL_SIZE ${threadpool}`)
printTable('Timings (rate = calls per second of wall time; concurrent rows: latency of each call)', [
  ['name', 'benchmark'], ['n', 'n'], ['mean', 'mean'], ['p50', 'p50'], ['p99', 'p99'], ['rate', 'rate'],
], rows)

console.log('\nCPU time of this process (all threads, user + system) per sequential call:')
for (const [name, micros] of Object.entries(cpuPerCall)) console.log(`  ${name}: ${micros.toFixed(1)} µs`)

const lagRow = (name, h) => ({
  name,
  mean: `${(h.mean / 1e6).toFixed(2)} ms`,
  p99: `${(h.percentile(99) / 1e6).toFixed(2)} ms`,
  max: `${(h.max / 1e6).toFixed(2)} ms`,
})
printTable('Event-loop delay (perf_hooks.monitorEventLoopDelay; each sample includes its 1 ms timer interval)', [
  ['name', 'while'], ['mean', 'mean'], ['p99', 'p99'], ['max', 'max'],
], [lagRow('idle, 1 s', idle), lagRow('10 calls in flight', lag[10]), lagRow('100 calls in flight', lag[100])])

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`
printTable('Resident set size of this process', [['when', 'when'], ['rss', 'RSS']], [
  { when: 'at start (node itself)', rss: mib(rssAtStart) },
  { when: 'after loading the addon', rss: mib(rssAfterLoad) },
  { when: 'after the local benchmarks (phone metadata in use)', rss: mib(rssAfterLocal) },
  { when: 'after the sequential calls', rss: mib(rssAfterSequential) },
  { when: 'at the end', rss: mib(rssEnd) },
  { when: 'peak (resourceUsage().maxRSS)', rss: mib(process.resourceUsage().maxRSS * 1024) },
])
