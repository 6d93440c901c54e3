'use strict'
// `bitrix24-callback/testing`: a fake Bitrix24 portal inside this process, for the tests of an
// application that uses bitrix24-callback. It listens on 127.0.0.1 (plain HTTP, or HTTPS with a
// CA of its own), answers like a portal, places no real calls (magic numbers choose how a
// simulated call ends) and records what it was asked, so a test can check the calls placed.
// It is the Rust fake portal that the library itself is tested against, running on threads of
// its own: the JavaScript thread only reads its state.

const { inspect } = require('node:util')

// The package's entry first: it explains a missing native build.
require('./index.js')
const native = require('./native.js')

const TOKEN = Symbol('FakePortal')

const camel = (key) => key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
const snake = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** A copy of `value` with every object key in camelCase. */
function camelKeys(value) {
  if (Array.isArray(value)) return value.map(camelKeys)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), camelKeys(v)]))
}

class FakePortal {
  #handle
  #info
  #closed = null

  /** Use `await FakePortal.start(options)`. */
  constructor(token, handle) {
    if (token !== TOKEN) throw new TypeError('FakePortal: use `await FakePortal.start(options)`')
    this.#handle = handle
    this.#info = camelKeys(JSON.parse(native.fakePortalCall(handle, 'info')))
  }

  /**
   * Starts a portal on a free port of 127.0.0.1. `options` (all optional): `tls`, `port`,
   * `burst` (50), `drainPerSecond` (2), `stageMs` (1000: the length of each stage of a simulated
   * call), `webhookUserId`, `webhookSecret`, `webhookScopes`, `oauthClientId`,
   * `oauthClientSecret`, `oauthScopes`, `accessTokenLifetimeMs`, `operatingLimitMs`,
   * `callbackProcessingMs`, `outgoingCallPermission`, `lineListPermission`, `emptyErrorCode`,
   * `lines` ({ id: name }), `restAppLines`, `applicationToken`, `eventHandler`. An unknown key
   * is a `TypeError` naming it.
   */
  static async start(options = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError('FakePortal.start: options must be an object')
    }
    const handle = await native.fakePortalStart(JSON.stringify(options))
    return new FakePortal(TOKEN, handle)
  }

  #call(what, arg) {
    return JSON.parse(native.fakePortalCall(this.#handle, what, arg))
  }

  /** `http://127.0.0.1:PORT/rest/1/SECRET/`: the incoming webhook to give `new Client(...)`. */
  get webhookUrl() {
    return this.#call('webhookUrl')
  }

  /** `http://127.0.0.1:PORT` (`https://` with `tls`), no trailing slash. */
  get baseUrl() {
    return this.#info.baseUrl
  }

  /** `{baseUrl}/rest/`: the OAuth `clientEndpoint`. */
  get clientEndpoint() {
    return this.#info.clientEndpoint
  }

  /** `{baseUrl}/rest/`: the OAuth `serverEndpoint` (its token endpoint is on the same host). */
  get serverEndpoint() {
    return this.#info.serverEndpoint
  }

  /** The PEM of the portal's own CA with `tls` (give it to `rootCertificates`), else `null`. */
  get caPem() {
    return this.#info.caPem ?? null
  }

  /** Everything about the portal, credentials included (`webhookSecret`, `oauthClientSecret`, ...). */
  info() {
    return camelKeys(this.#call('info'))
  }

  /** Every call placed, in order: `{ callId, line, number, text, voice, placedAt, requestNumber }`. */
  ledger() {
    return this.#call('ledger')
  }

  /** Counters: `requests`, `restRequests`, `callbackRequests`, `callsPlaced`, `rateLimited`, `refreshes`, ... */
  stats() {
    return this.#call('stats')
  }

  /** The requests received (the last 10 000): `{ number, httpMethod, path, restMethod, body, status, ... }`. */
  requests() {
    return this.#call('requests')
  }

  /** The simulated calls: `{ callId, line, number, stage, outcome, failedCode, duration }`. */
  calls() {
    return this.#call('calls')
  }

  /** The simulated call `callId`, or `null`. */
  call(callId) {
    return this.calls().find((c) => c.callId === callId) ?? null
  }

  /** The telephony events sent to `eventHandler`: `{ event, callId, handlerUrl, body, status, error }`. */
  events() {
    return this.#call('events')
  }

  /**
   * Scripts a fault for the next `times` (1; 0 = until cleared) requests of `method` (any REST
   * method when absent) on `host` (any when absent): `kind` is one of `delay` (with `delayMs`),
   * `close_before_execute`, `close_after_execute`, `html_502`, `html_504`, `truncated_json`,
   * `rename`, `overload`, `query_limit`, `operation_time_limit`, `respond` (with `status`,
   * `body`, `contentType`, `execute`) or `redirect` (with `status`, `location`, `execute`).
   */
  addFault(fault) {
    if (fault === null || typeof fault !== 'object') throw new TypeError('addFault: the fault must be an object')
    const f = { ...fault }
    if (f.body !== undefined && typeof f.body !== 'string') f.body = JSON.stringify(f.body)
    this.#call('addFault', JSON.stringify(f))
  }

  /** Removes every scripted fault. */
  clearFaults() {
    this.#call('clearFaults')
  }

  /** Expires every access token issued so far (they answer `expired_token`). */
  expireAccessTokens() {
    this.#call('expireAccessTokens')
  }

  /** A fresh OAuth pair: `{ accessToken, refreshToken, expiresIn }` (for `Client.fromOAuth`). */
  issueTokens() {
    return this.#call('issueTokens')
  }

  /** Clears the ledger, calls, records, requests, counters, faults, events and limits. */
  reset() {
    this.#call('reset')
  }

  /**
   * Changes the configuration while it runs (the keys of `start` but `tls` and `port`, and
   * their camelCase admin names such as `stageMs`, `webhookScopes`, `eventHandler`).
   */
  async configure(patch) {
    if (patch === null || typeof patch !== 'object') throw new TypeError('configure: the patch must be an object')
    const body = Object.fromEntries(Object.entries(patch).map(([k, v]) => [snake(k), v]))
    const res = await fetch(`${this.#info.adminUrl.replace(/\/?$/, '/')}config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new TypeError(`configure: ${text}`)
    this.#info = camelKeys(JSON.parse(native.fakePortalCall(this.#handle, 'info')))
  }

  /** Stops the portal: its connections close. Calling it again does nothing. */
  close() {
    if (!this.#closed) this.#closed = native.fakePortalClose(this.#handle)
    return this.#closed
  }

  [inspect.custom]() {
    return `FakePortal { baseUrl: '${this.#info.baseUrl}'${this.#closed ? ', closed: true' : ''} }`
  }
}

if (typeof Symbol.asyncDispose === 'symbol') {
  Object.defineProperty(FakePortal.prototype, Symbol.asyncDispose, {
    value() {
      return this.close()
    },
    writable: true,
    configurable: true,
  })
}

module.exports = { FakePortal }
