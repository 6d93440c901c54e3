/**
 * `bitrix24-callback/testing`: a fake Bitrix24 portal inside this process, for the tests of an
 * application that uses bitrix24-callback. It listens on 127.0.0.1, answers like a portal,
 * places no real calls and records what it was asked.
 *
 * Magic destination numbers choose how a simulated call ends: `+12015550101` busy, `…0102` no
 * answer, `…0103` declined, `…0104` insufficient funds, `…0105` invalid number, `…0106` the
 * start itself fails (`outcome_unknown`); any other valid number is answered.
 */

export interface FakePortalOptions {
  /** Serve HTTPS with a CA generated at start (see `caPem`). Default `false`. */
  tls?: boolean
  /** TCP port on 127.0.0.1; 0 (default): any free port. */
  port?: number
  /** Leaky bucket size: requests admitted at once. Default 50. */
  burst?: number
  /** Leaky bucket drain, requests per second. Default 2. */
  drainPerSecond?: number
  /** Length of each stage of a simulated call, in milliseconds. Default 1000. */
  stageMs?: number
  webhookUserId?: number
  webhookSecret?: string
  /** Default `['call', 'telephony']`. */
  webhookScopes?: string[]
  oauthClientId?: string
  oauthClientSecret?: string
  oauthScopes?: string[]
  /** Default 3600000. */
  accessTokenLifetimeMs?: number
  /** The per-method operating budget in a 10-minute window. Default 480000. */
  operatingLimitMs?: number
  /** Simulated handler time of one start (counted into the budget). Default 1000. */
  callbackProcessingMs?: number
  /** `false`: `voximplant.callback.start` answers 403 `ACCESS_DENIED`. */
  outgoingCallPermission?: boolean
  /** `false`: `voximplant.line.get` answers 403 `ACCESS_DENIED`. */
  lineListPermission?: boolean
  emptyErrorCode?: boolean
  /** Line id → name. Default `reg1`, `sip7`, `74951234567`. */
  lines?: Record<string, string>
  /** Lines of a telephony REST application (`callId` is `null` for them). Default `['REST_APP:1']`. */
  restAppLines?: string[]
  /** `auth[application_token]` of the events. */
  applicationToken?: string
  /** `http://` URL the telephony events are POSTed to. */
  eventHandler?: string
}

export type FakePortalFaultKind =
  | 'delay'
  | 'close_before_execute'
  | 'close_after_execute'
  | 'html_502'
  | 'html_504'
  | 'truncated_json'
  | 'rename'
  | 'overload'
  | 'query_limit'
  | 'operation_time_limit'
  | 'respond'
  | 'redirect'

export interface FakePortalFault {
  kind: FakePortalFaultKind
  /** The REST method, e.g. `'voximplant.callback.start'`; absent: any (`'oauth.token'`: the token endpoint). */
  method?: string
  /** How many matching requests; 0 = until cleared. Default 1. */
  times?: number
  /** Only requests whose `Host` names this host. */
  host?: string
  /** For `delay`. */
  delayMs?: number
  /** For `respond` (200–599) and `redirect` (300–399). */
  status?: number
  /** For `respond`: a string is sent as is, any other value as its JSON. */
  body?: unknown
  contentType?: string
  /** For `respond` and `redirect`: execute the request first. */
  execute?: boolean
  /** For `redirect`. */
  location?: string
}

export interface FakePortalLedgerEntry {
  callId: string | null
  line: string
  /** As the portal stripped it: digits and `+`. */
  number: string
  text: string
  voice: string | null
  /** Unix time in seconds. */
  placedAt: number
  requestNumber: number
}

export interface FakePortalStats {
  requests: number
  restRequests: number
  tokenRequests: number
  refreshes: number
  refreshFailures: number
  rateLimited: number
  operationTimeLimited: number
  authFailures: number
  callbackRequests: number
  callsPlaced: number
  faultsApplied: number
  eventsDelivered: number
  eventsFailed: number
}

export interface FakePortalRequest {
  number: number
  httpMethod: string
  /** Contains the webhook secret on webhook routes. */
  path: string
  query: string
  host: string
  restMethod: string | null
  contentType: string | null
  userAgent: string | null
  body: string
  status: number | null
}

export interface FakePortalCall {
  callId: string
  line: string
  number: string
  stage: 'ringing_manager' | 'speaking_text' | 'dialling_client' | 'connected' | 'ended'
  outcome: 'answered' | 'busy' | 'no_answer' | 'declined' | 'insufficient_funds' | 'invalid_number' | null
  failedCode: string | null
  duration: number
}

export interface FakePortalEvent {
  event: string
  callId: string
  handlerUrl: string
  body: string
  status: number | null
  error: string | null
}

export interface FakePortalTokens {
  accessToken: string
  refreshToken: string
  expiresIn: number
}

export interface FakePortalInfo {
  baseUrl: string
  webhookUrl: string
  clientEndpoint: string
  serverEndpoint: string
  tokenUrl: string
  adminUrl: string
  caPem: string | null
  webhookUserId: number
  webhookSecret: string
  oauthClientId: string
  oauthClientSecret: string
  applicationToken: string
  memberId: string
  config: Record<string, unknown>
}

declare global {
  // `Symbol.asyncDispose` (`await using`): in TypeScript's lib from esnext.disposable, declared
  // here too for projects whose lib predates it (Node defines the symbol from 18.18 and 20.4).
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol
  }
}

export declare class FakePortal {
  private constructor()
  /** Starts a portal on a free port of 127.0.0.1; an unknown option is a `TypeError` naming it. */
  static start(options?: FakePortalOptions): Promise<FakePortal>
  /** The incoming webhook to give `new Client({ webhookUrl })`. */
  readonly webhookUrl: string
  /** `http://127.0.0.1:PORT` (`https://` with `tls`). */
  readonly baseUrl: string
  /** For `Client.fromOAuth`. */
  readonly clientEndpoint: string
  /** For `Client.fromOAuth`. */
  readonly serverEndpoint: string
  /** The CA to trust (`rootCertificates`) with `tls`, else `null`. */
  readonly caPem: string | null
  info(): FakePortalInfo
  ledger(): FakePortalLedgerEntry[]
  stats(): FakePortalStats
  requests(): FakePortalRequest[]
  calls(): FakePortalCall[]
  call(callId: string): FakePortalCall | null
  events(): FakePortalEvent[]
  addFault(fault: FakePortalFault): void
  clearFaults(): void
  expireAccessTokens(): void
  issueTokens(): FakePortalTokens
  reset(): void
  configure(patch: Omit<FakePortalOptions, 'tls' | 'port'>): Promise<void>
  /** Stops the portal; calling it again does nothing. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}
