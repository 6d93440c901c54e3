// Type-checked with `tsc --noEmit -p test/tsconfig.json`: uses the whole public API, so a
// broken or incomplete index.d.ts fails the build. (Not executed.)
import {
  CallbackError,
  Client,
  classifyResponse,
  errorCodes,
  knownVoices,
  maskNumber,
  MAX_TEXT_CHARS,
  parseEvent,
  validateRequest,
  version,
} from '../index.js'
import { FakePortal } from '../testing.js'
import type { FakePortalFault, FakePortalLedgerEntry, FakePortalOptions, FakePortalStats } from '../testing.js'
import type {
  CallbackErrorDetails,
  CallbackStarted,
  CallOutcome,
  CallRecord,
  CheckCallbackOptions,
  ClientOptions,
  Destination,
  DestinationPolicy,
  ErrorCode,
  Line,
  Logger,
  LogLevel,
  NumberType,
  OAuthConfig,
  StartCallbackOptions,
  TelephonyEvent,
  TokenPair,
  ValidatedRequest,
  Violation,
  Voice,
} from '../index.js'

const options: ClientOptions = {
  connectTimeoutMs: 5000,
  timeoutMs: 30000,
  deadlineMs: 45000,
  rateLimit: { burst: 10, perSecond: 2 },
  rootCertificates: ['-----BEGIN CERTIFICATE-----'],
  userAgentSuffix: 'shop/1.0',
  defaultRegion: 'GB',
  allowUnknownVoice: false,
  destinationPolicy: { allowedRegions: ['GB'], blockCostlyNumbers: true, numberCooldownMs: 60000 },
  dedupeWindowMs: 600000,
  sharedState: 'redis://127.0.0.1:6379/0',
  sharedStatePrefix: 'shop:',
}
// @ts-expect-error the shared state is a URL string
const badShared: ClientOptions = { sharedState: { host: '127.0.0.1' } }
const policy: DestinationPolicy = {
  allowedRegions: ['GB', 'DE', '001'],
  blockedRegions: ['RU'],
  allowedPrefixes: ['+44', '+49'],
  blockedPrefixes: ['+4470'],
  blockCostlyNumbers: true,
  allowedNumberTypes: ['fixed_line', 'mobile', 'voip'],
  highRiskRegions: [],
  numberCooldownMs: 60000,
  numberHourlyCap: 5,
}
// @ts-expect-error number types are a closed list
const badType: DestinationPolicy = { allowedNumberTypes: ['landline'] }
const presets: ClientOptions['rateLimit'][] = ['standard', 'enterprise', 'off']

// A CallbackError has every field of CallbackErrorDetails (its declaration derives from it).
type MissingErrorFields = Exclude<keyof CallbackErrorDetails, keyof CallbackError>
const noFieldMissing: [MissingErrorFields] extends [never] ? true : false = true

const webhook = new Client({ webhookUrl: 'https://example.bitrix24.com/rest/1/secret/', ...options, destinationPolicy: policy })

function costly(t: NumberType): boolean {
  switch (t) {
    case 'fixed_line':
    case 'mobile':
    case 'fixed_line_or_mobile':
    case 'toll_free':
      return false
    case 'premium_rate':
    case 'shared_cost':
    case 'voip':
    case 'personal_number':
    case 'pager':
    case 'uan':
    case 'voicemail':
    case 'unknown':
      return true
  }
}

const oauthConfig: OAuthConfig = {
  clientId: 'local.app',
  clientSecret: 's',
  accessToken: 'a',
  refreshToken: 'r',
  clientEndpoint: 'https://example.bitrix24.com/rest/',
  serverEndpoint: 'https://oauth.bitrix.info/rest/',
  onTokens: async (t: TokenPair): Promise<void> => {
    const pair: [string, string, number | null] = [t.accessToken, t.refreshToken, t.expiresIn]
    void pair
  },
}
const oauth: Client = Client.fromOAuth({ ...oauthConfig, rateLimit: 'enterprise' })
Client.fromOAuth({ ...oauthConfig, onTokens: (t) => void t.refreshToken })

function describe(code: ErrorCode): string {
  switch (code) {
    case 'invalid_request':
    case 'destination_blocked':
    case 'rate_limited':
    case 'operation_time_limit':
    case 'auth_failed':
    case 'insufficient_scope':
    case 'access_denied':
    case 'line_not_found':
    case 'number_rejected':
    case 'portal_error':
    case 'transport':
    case 'shared_state_unavailable':
      return 'retry-safe'
    case 'outcome_unknown':
      return 'do not retry'
  }
}

async function main(): Promise<void> {
  const controller = new AbortController()
  const request: StartCallbackOptions = {
    line: 'reg1',
    to: '+12015550123',
    text: 'A visitor asked for a call',
    voice: 'ruinternalfemale',
    idempotencyKey: 'form-42',
    signal: controller.signal,
  }
  try {
    const started: CallbackStarted = await webhook.startCallback(request)
    const id: string | null = started.callId
    const dedup: boolean = started.deduplicated
    const waited: number = started.timing.limiterWaitMs + started.timing.totalMs + started.timing.attempts
    const moved: string | null = started.portalMovedTo
    const duration: number | null | undefined = started.timing.portal?.duration
    void [dedup, waited, moved, duration]
    if (id !== null) {
      const record: CallRecord | null = await webhook.waitForOutcome(id, { timeoutMs: 60000 })
      const outcome: CallOutcome | undefined = record?.outcome
      const again: CallRecord | null = await webhook.callRecord(id)
      void [outcome, again?.maskedNumber, record?.durationSeconds]
    }
  } catch (e) {
    if (e instanceof CallbackError) {
      const code: ErrorCode = e.code
      const retry: boolean = e.retrySafe
      const bitrix: string | null = e.bitrixCode
      const status: number | null = e.httpStatus
      const violations: ReadonlyArray<Violation> = e.violations
      const reset: number | null = e.operatingResetAt
      const moved: string | null = e.portalMovedTo
      void [describe(code), retry, bitrix, status, violations.map((v) => v.field + v.code + v.message), reset, moved]
      // @ts-expect-error the fields of a CallbackError are read-only
      e.retrySafe = false
    }
  }
  const toCheck: CheckCallbackOptions = { line: 'reg1', to: '+447400123456', text: 'x', voice: 'ruinternalfemale', idempotencyKey: 'form-43' }
  const checked: Destination = await webhook.checkCallback(toCheck)
  const full: string = checked.number
  const shown: string = checked.maskedNumber
  const region: string | null = checked.region
  void [full, shown, region, costly(checked.numberType), badType, badShared]
  // The same object as startCallback's works (its signal is not read).
  await webhook.checkCallback(request)
  const lines: Line[] = await oauth.lines()
  const voices: Voice[] = await oauth.voices()
  const portal: string = webhook.portal
  void [lines, voices, portal, presets, noFieldMissing]

  const v: ValidatedRequest = validateRequest({ line: 'reg1', to: '(201) 555-0123', text: 'x', defaultRegion: 'US', allowUnknownVoice: true })
  const wire: string = v.wireBody
  const vType: NumberType = v.numberType
  const classified: CallbackError | null = classifyResponse(503, new Uint8Array([123, 125]))
  const ev: TelephonyEvent = parseEvent('event=ONVOXIMPLANTCALLEND', 'token')
  const outcome: CallOutcome | null = ev.outcome
  const data: Record<string, string> = ev.data
  const details: CallbackErrorDetails = {
    code: 'transport',
    retrySafe: true,
    bitrixCode: null,
    httpStatus: null,
    violations: null,
    operatingResetAt: null,
    portalMovedTo: null,
  }
  const mine = new CallbackError('custom', { code: 'portal_error' })
  const mine2 = new CallbackError('custom', details)
  const all: ErrorCode[] = errorCodes()
  const voicesKnown: string[] = knownVoices()
  const masked: string = maskNumber('+12015550123')
  const max: number = MAX_TEXT_CHARS
  const ver: string = version()
  void [wire, vType, classified, outcome, data, mine.code, mine2.retrySafe, all, voicesKnown, masked, max, ver]
}

async function more(): Promise<void> {
  // Loggers: console, an object of some levels, one function.
  const levels: LogLevel[] = ['debug', 'info', 'warn', 'error']
  const loggers: Logger[] = [console, { warn: (m: string) => void m }, (level: LogLevel, message: string) => void [level, message]]
  for (const logger of loggers) new Client({ webhookUrl: 'https://example.bitrix24.com/rest/1/secret/', logger })
  // @ts-expect-error a logger is a function or an object of level methods
  const badLogger: ClientOptions = { logger: 'console' }
  const fromEnv: Client = Client.fromEnv()
  Client.fromEnv({ timeoutMs: 5000, defaultRegion: 'GB', onTokens: async (t: TokenPair) => void t.accessToken })
  // @ts-expect-error the webhook comes from the environment
  Client.fromEnv({ webhookUrl: 'https://example.bitrix24.com/rest/1/secret/' })
  const waited: CallRecord | null = await fromEnv.waitForOutcome('callback.1', { timeoutMs: 1000, signal: AbortSignal.timeout(500) })

  const options: FakePortalOptions = { tls: true, burst: 10, drainPerSecond: 5, stageMs: 20, lines: { reg1: 'Sales' } }
  const portal: FakePortal = await FakePortal.start(options)
  const url: string = portal.webhookUrl
  const ca: string | null = portal.caPem
  const ledger: FakePortalLedgerEntry[] = portal.ledger()
  const stats: FakePortalStats = portal.stats()
  const fault: FakePortalFault = { kind: 'delay', delayMs: 100, method: 'voximplant.callback.start', times: 2 }
  portal.addFault(fault)
  // @ts-expect-error fault kinds are a closed list
  portal.addFault({ kind: 'meltdown' })
  const tokens = portal.issueTokens()
  const access: string = tokens.accessToken
  portal.expireAccessTokens()
  await portal.configure({ stageMs: 10 })
  const first: string | null | undefined = ledger[0]?.callId
  void [levels, badLogger, waited, url, ca, stats.callsPlaced, access, first, portal.requests(), portal.calls(), portal.events(), portal.info().webhookSecret]
  await portal.close()
  await portal[Symbol.asyncDispose]()
}

void main
void more
