// A steady load against the fake portal: `startCallback` at a fixed rate (limiter off, no
// cooldown or cap), open loop (a slow answer does not slow the schedule), reporting calls,
// achieved rate, latency percentiles, RSS and open file descriptors at the start, the middle and
// the end. The portal runs in a process of its own (bench/portal.mjs), so the figures are the
// client's.
//
//   node --expose-gc node/bench/load.mjs --seconds 10 --rate 1000 [--check] [--json FILE]
//
// --check: exit 1 unless every call succeeded, the open descriptors did not grow by more than
// 16 and the RSS did not grow by more than 64 MiB from the start to the end (a leak shows as a
// steady climb; the 10-minute run in RELIABILITY.md is the real test of flatness). Loads the package from
// $B24_NODE_PACKAGE (a folder with index.js, native.js, testing.js and the addon), else node/.
import { spawn } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const pkgDir = path.resolve(here, '..', '..', process.env.B24_NODE_PACKAGE || 'node')
const pkg = createRequire(import.meta.url)(path.join(pkgDir, 'index.js'))

const args = process.argv.slice(2)
const flag = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : fallback
}
const seconds = Number(flag('--seconds', 10))
const rate = Number(flag('--rate', 1000))
const check = args.includes('--check')
const jsonOut = flag('--json', null)
if (!(seconds > 0 && rate > 0)) throw new Error('usage: load.mjs --seconds N --rate PER_SECOND [--check] [--json FILE]')

async function startPortal() {
  const child = spawn(process.execPath, [
    path.join(here, 'portal.mjs'),
    JSON.stringify({ burst: 1e9, drainPerSecond: 1e9, stageMs: 50, operatingLimitMs: 1e12, callbackProcessingMs: 0 }),
    '2000',
  ], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, B24_NODE_PACKAGE: pkgDir } })
  const first = await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the fake portal exited (code ${code})`)))
    createInterface({ input: child.stdout }).once('line', resolve)
  })
  child.removeAllListeners('exit')
  return { info: JSON.parse(first), stop: () => child.stdin.end() }
}

const fds = () => readdirSync('/proc/self/fd').length
const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10
// With `node --expose-gc` the heap is collected before each sample, so that the figures compare
// what is live rather than when V8 last collected.
const sample = (label) => {
  globalThis.gc?.()
  const m = process.memoryUsage()
  return { at: label, rssMiB: mib(m.rss), heapMiB: mib(m.heapUsed), fds: fds() }
}

// Latencies go into a logarithmic histogram of constant size (50 buckets per decade from 1 µs to
// 100 s), so that measuring does not itself grow the heap over a long run.
const PER_DECADE = 50
const counts = new Float64Array(8 * PER_DECADE + 1)
let recorded = 0
let slowest = 0
const record = (ms) => {
  const i = Math.floor(Math.log10(Math.max(ms, 0.001) / 0.001) * PER_DECADE)
  counts[Math.min(counts.length - 1, i)]++
  recorded++
  slowest = Math.max(slowest, ms)
}
// The upper edge of the bucket holding the p-th percentile (at most 4.7 % above the true value).
const pct = (p) => {
  let seen = 0
  const want = Math.ceil((p / 100) * recorded)
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]
    if (seen >= want && seen > 0) return Math.min(slowest, 0.001 * 10 ** ((i + 1) / PER_DECADE))
  }
  return NaN
}

const portal = await startPortal()
const client = new pkg.Client({
  webhookUrl: portal.info.webhookUrl,
  rateLimit: 'off',
  destinationPolicy: { numberCooldownMs: 0, numberHourlyCap: 0 },
  timeoutMs: 10000,
  deadlineMs: 20000,
})
const request = { line: 'reg1', to: '+12015550123', text: 'A visitor asked for a call back' }
for (let i = 0; i < 200; i++) await client.startCallback(request) // warm-up: pool, metadata, JIT

const failures = {}
let inFlight = 0
let maxInFlight = 0
let issued = 0
const samples = [sample('start')]
const t0 = performance.now()
const end = t0 + seconds * 1000

function one() {
  const t = performance.now()
  inFlight++
  maxInFlight = Math.max(maxInFlight, inFlight)
  client.startCallback(request).then(
    () => record(performance.now() - t),
    (e) => (failures[e.code || e.name] = (failures[e.code || e.name] || 0) + 1),
  ).finally(() => inFlight--)
}

// Every 5 ms, issue what the schedule says is due: a late tick catches up, so the rate holds.
await new Promise((resolve) => {
  let middle = false
  const timer = setInterval(() => {
    const now = performance.now()
    const due = Math.floor((Math.min(now, end) - t0) * rate / 1000)
    while (issued < due) {
      issued++
      one()
    }
    if (!middle && now >= t0 + (seconds * 1000) / 2) {
      middle = true
      samples.push(sample('middle'))
    }
    if (now >= end) {
      clearInterval(timer)
      resolve()
    }
  }, 5)
})
while (inFlight > 0) await new Promise((r) => setTimeout(r, 5))
const wall = (performance.now() - t0) / 1000
samples.push(sample('end'))
portal.stop()

const report = {
  package: `bitrix24-callback ${pkg.version()} (${pkgDir})`,
  node: process.version,
  seconds,
  targetRate: rate,
  calls: issued,
  succeeded: recorded,
  failures,
  achievedRate: Math.round(recorded / wall),
  latencyMs: { p50: +pct(50).toFixed(3), p99: +pct(99).toFixed(3), max: +slowest.toFixed(3) },
  maxInFlight,
  samples,
}
console.log(`load: ${report.calls} calls in ${wall.toFixed(1)} s (target ${rate}/s): ${report.succeeded} ok, failures ${JSON.stringify(failures)}, achieved ${report.achievedRate}/s`)
console.log(`load: latency p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms, max ${report.latencyMs.max} ms; at most ${maxInFlight} in flight`)
for (const s of samples) console.log(`load: ${s.at.padEnd(6)} RSS ${s.rssMiB} MiB, heap ${s.heapMiB} MiB, open fds ${s.fds}`)
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2) + '\n')

if (check) {
  const [first, , last] = samples
  const problems = []
  if (report.succeeded !== report.calls) problems.push(`${report.calls - report.succeeded} calls failed`)
  if (last.fds - first.fds > 16) problems.push(`open fds grew from ${first.fds} to ${last.fds}`)
  if (last.rssMiB - first.rssMiB > 64) problems.push(`RSS grew from ${first.rssMiB} to ${last.rssMiB} MiB`)
  if (problems.length) {
    console.error(`load: FAILED: ${problems.join('; ')}`)
    process.exit(1)
  }
  console.log('load: check passed')
}
