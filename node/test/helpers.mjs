// Shared helpers for the node:test suites: the package under test (loaded through the
// generated index.js, as users load it), the fake portal subprocess and its admin endpoint, a
// tiny in-process portal for answers the fake portal cannot be asked for, and a real
// redis-server for the shared state.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const require = createRequire(import.meta.url)
export const pkg = require('../index.js')
export const nodeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const repoRoot = path.resolve(nodeDir, '..')

/** The `b24-callback` binary: $B24_CALLBACK_BIN, else the debug build (built if missing). */
export function portalBinary() {
  if (process.env.B24_CALLBACK_BIN) return path.resolve(repoRoot, process.env.B24_CALLBACK_BIN)
  const target = path.resolve(repoRoot, process.env.CARGO_TARGET_DIR || 'target')
  const bin = path.join(target, 'debug', 'b24-callback')
  if (!existsSync(bin)) {
    const r = spawnSync('cargo', ['build', '-p', 'callback-cli'], { cwd: repoRoot, stdio: 'inherit' })
    if (r.status !== 0) throw new Error('cargo build -p callback-cli failed')
  }
  return bin
}

/**
 * Starts `b24-callback fake-portal --json` and resolves once it listens. The portal stops when
 * `stop()` is called or when this process exits (its stdin pipe closes). A portal that exits
 * before printing its addresses is started again (twice at most) and the incident reported on
 * stderr, so that a rare start-up hiccup of the CLI does not fail a whole test file silently.
 */
export async function startPortal(args = []) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPortalOnce(args)
    } catch (e) {
      if (attempt >= 3 || !/exited early/.test(e.message)) throw e
      process.stderr.write(`startPortal: ${e.message}; starting it again\n`)
    }
  }
}

async function startPortalOnce(args) {
  const child = spawn(portalBinary(), ['fake-portal', '--json', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  child.unref()
  child.stdin.unref?.()
  child.stdout.unref?.()
  const lines = createInterface({ input: child.stdout })
  const first = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fake portal did not start within 20 s')), 20000)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`fake portal exited early (code ${code})`)))
    lines.once('line', (line) => {
      clearTimeout(timer)
      resolve(line)
    })
  })
  const info = JSON.parse(first)
  // 'exit' may be reported after the line was read: make sure it still runs.
  await new Promise((resolve) => setTimeout(resolve, 50))
  if (child.exitCode !== null) throw new Error(`fake portal exited early (code ${child.exitCode})`)
  const admin = async (method, route, body) => {
    const res = await fetch(info.admin_url.replace(/\/?$/, '/') + route, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`admin ${method} ${route}: HTTP ${res.status} ${text}`)
    return text ? JSON.parse(text) : null
  }
  return {
    info,
    admin,
    ledger: async () => (await admin('GET', 'ledger')).calls,
    stats: () => admin('GET', 'stats'),
    fault: (kind, extra = {}) => admin('POST', 'faults', { kind, ...extra }),
    clearFaults: () => admin('DELETE', 'faults'),
    config: (patch) => admin('POST', 'config', patch),
    reset: () => admin('POST', 'reset'),
    stop() {
      lines.close()
      child.stdin.end()
      child.kill()
    },
  }
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
