// Shared helpers for the node:test suites: the package under test (loaded through index.js,
// as users load it), the fake portal (in this process, from the package's testing module) and
// its admin endpoint, a tiny in-process portal for answers the fake portal cannot be asked for,
// and a real redis-server for the shared state.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const require = createRequire(import.meta.url)
export const pkg = require('../index.js')
export const { FakePortal } = require('../testing.js')
export const nodeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const repoRoot = path.resolve(nodeDir, '..')

/** The fake portal options that the command line's `fake-portal` flags used to set. */
const FLAGS = { '--burst': 'burst', '--drain': 'drainPerSecond', '--stage-ms': 'stageMs' }

/**
 * Starts the fake portal in this process (`bitrix24-callback/testing`, as users' tests start
 * it) and resolves once it listens. `args` are the command line's `fake-portal` flags
 * (`--burst N`, `--drain N`, `--stage-ms N`, `--tls`). What the suites read from it comes from
 * its admin endpoint (snake_case JSON, the same for every language); `portal.fake` is the
 * `FakePortal` itself. `stop()` closes it.
 */
export async function startPortal(args = []) {
  const options = {}
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--tls') options.tls = true
    else if (FLAGS[args[i]]) options[FLAGS[args[i]]] = Number(args[++i])
    else throw new Error(`startPortal: unknown flag ${args[i]}`)
  }
  const fake = await FakePortal.start(options)
  const snake = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
  const { config, ...rest } = fake.info()
  const info = Object.fromEntries(Object.entries(rest).map(([k, v]) => [snake(k), v]))
  const admin = (method, route, body) => adminRequest(info, method, route, body)
  return {
    fake,
    info,
    admin,
    ledger: async () => (await admin('GET', 'ledger')).calls,
    stats: () => admin('GET', 'stats'),
    fault: (kind, extra = {}) => admin('POST', 'faults', { kind, ...extra }),
    clearFaults: () => admin('DELETE', 'faults'),
    config: (patch) => admin('POST', 'config', patch),
    reset: () => admin('POST', 'reset'),
    stop: () => fake.close(),
  }
}

/** One JSON request to the portal's admin endpoint (over HTTPS, trusting the portal's CA). */
function adminRequest(info, method, route, body) {
  const url = new URL(route, info.admin_url.replace(/\/?$/, '/'))
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method,
      ca: info.ca_pem || undefined,
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (text += d))
      res.on('end', () => {
        if (res.statusCode >= 300) reject(new Error(`admin ${method} ${route}: HTTP ${res.statusCode} ${text}`))
        else resolve(text ? JSON.parse(text) : null)
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
async function freePort() {
  const server = net.createServer()
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Resolves true once the Redis server on 127.0.0.1:`port` answers PING with PONG (while it
 * still loads its append-only file it answers LOADING), false if it did not before `untilMs`.
 */
async function redisReady(port, untilMs) {
  while (Date.now() < untilMs) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      let reply = ''
      const done = (value) => {
        socket.destroy()
        resolve(value)
      }
      socket.setTimeout(1000, () => done(false))
      socket.once('connect', () => socket.write('PING\r\n'))
      socket.on('data', (d) => {
        reply += d
        if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
      })
      socket.once('error', () => done(false))
      socket.once('close', () => done(false))
    })
    if (ok) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

/**
 * Starts a real `redis-server` ($REDIS_SERVER, else the PATH) on a free loopback port, with an
 * append-only file in a fresh directory so that `stop()` (a kill, as a crash would) and
 * `resume()` (the same port, the same data, resolved once it is loaded) simulate an outage. `close()` kills it and removes
 * its directory; it is killed as well when this process exits. A missing `redis-server` fails
 * with a message saying how to install it.
 */
export async function startRedis() {
  const bin = process.env.REDIS_SERVER || 'redis-server'
  const dir = mkdtempSync(path.join(os.tmpdir(), 'b24cb-redis-'))
  const port = await freePort()
  let child = null
  const kill = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.on('exit', kill)
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    async resume() {
      if (child) throw new Error('redis-server is already running')
      const c = spawn(bin, [
        '--bind', '127.0.0.1', '--port', String(port),
        '--save', '', '--appendonly', 'yes', '--appendfsync', 'always',
        '--dir', dir,
      ], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      c.stderr.on('data', (d) => (stderr += d))
      const failed = new Promise((resolve) => {
        c.once('error', (e) => resolve(e.code === 'ENOENT'
          ? `${bin} was not found: install Redis 6.2 or newer (Debian: apt-get install redis-server) or set $REDIS_SERVER`
          : `cannot start ${bin}: ${e.message}`))
        c.once('exit', (code, signal) => resolve(`${bin} exited at once (${signal || code}): ${stderr.trim()}`))
      })
      child = c
      const why = await Promise.race([failed, redisReady(port, Date.now() + 10000).then((ok) => (ok ? null : `${bin} did not answer PING within 10 s`))])
      if (why) {
        kill()
        child = null
        throw new Error(`startRedis: ${why}`)
      }
      c.unref()
      c.stderr.unref?.()
    },
    /** Kills the server (SIGKILL), keeping its data. */
    async stop() {
      const c = child
      child = null
      if (!c || c.exitCode !== null || c.signalCode !== null) return
      const exited = new Promise((resolve) => c.once('exit', resolve))
      c.kill('SIGKILL')
      await exited
    },
    async close() {
      await redis.stop()
      process.off('exit', kill)
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    await redis.resume()
  } catch (e) {
    await redis.close()
    throw e
  }
  return redis
}

/**
 * A minimal portal inside this very process: `answer(req, body)` returns
 * `{ status, body, delayMs }` for each REST request. Used to prove the event loop stays free
 * and to produce envelopes the fake portal has no switch for.
 */
export async function startLocalPortal(answer) {
  const seen = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body })
      const a = answer(req, body)
      setTimeout(() => {
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json; charset=utf-8' })
        res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body))
      }, a.delayMs ?? 0)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    seen,
    webhookUrl: `http://127.0.0.1:${port}/rest/1/localsecret0042/`,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

export const SUCCESS = {
  result: { RESULT: true, CALL_ID: 'callback.0123456789abcdef0123456789abcdef.1700000000' },
  time: { start: 1700000000.1, finish: 1700000000.3, duration: 0.2, processing: 0.15, date_start: '2023-11-14T22:13:20+00:00', date_finish: '2023-11-14T22:13:20+00:00' },
}

/** Options that keep tests fast and independent of the default pacing and cooldown. */
export const FAST = {
  rateLimit: 'off',
  destinationPolicy: { numberCooldownMs: 0 },
  deadlineMs: 10000,
  timeoutMs: 5000,
  connectTimeoutMs: 2000,
}

/** Awaits a promise that must reject with a CallbackError of `code`; returns the error. */
export async function rejectsWith(promise, code) {
  try {
    await promise
  } catch (e) {
    if (!(e instanceof pkg.CallbackError)) throw new Error(`expected CallbackError ${code}, got ${e && e.stack}`)
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`)
    return e
  }
  throw new Error(`expected a rejection with ${code}, but the promise resolved`)
}

/** Calls `fn` synchronously; it must throw a CallbackError of `code`. */
export function throwsWith(fn, code) {
  try {
    fn()
  } catch (e) {
    if (!(e instanceof pkg.CallbackError)) throw new Error(`expected CallbackError ${code}, got ${e && e.stack}`)
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`)
    return e
  }
  throw new Error(`expected a throw with ${code}`)
}
