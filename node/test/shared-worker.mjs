// One worker process of shared.test.mjs (started with child_process.fork, not a test file):
// it builds clients as told and starts batches of callbacks at an agreed moment, all at once,
// answering over the IPC channel. Messages: `{ id, op: 'client', name, kind, config }` builds a
// client (`kind`: 'webhook' or 'oauth'; an OAuth client counts its onTokens calls);
// `{ id, op: 'run', client, at, requests }` starts every request at unix time `at` (ms) and
// answers each outcome in order, with how many pairs this process's onTokens has received.
import { createRequire } from 'node:module'

const pkg = createRequire(import.meta.url)('../index.js')

const clients = new Map()
let tokensSeen = 0

/** What a settled startCallback became, as plain data. */
function outcome(settled) {
  if (settled.status === 'fulfilled') {
    const s = settled.value
    return { ok: true, callId: s.callId, deduplicated: s.deduplicated, attempts: s.timing.attempts }
  }
  const e = settled.reason
  if (!(e instanceof pkg.CallbackError)) return { ok: false, code: 'not_a_callback_error', message: String(e && e.stack) }
  return {
    ok: false,
    code: e.code,
    retrySafe: e.retrySafe,
    message: e.message,
    violations: e.violations.map((v) => [v.field, v.code]),
  }
}

const ops = {
  client({ name, kind, config }) {
    const client = kind === 'oauth'
      ? pkg.Client.fromOAuth({ ...config, onTokens: () => { tokensSeen++ } })
      : new pkg.Client(config)
    clients.set(name, client)
    return {}
  },
  async run({ client, at, requests }) {
    const c = clients.get(client)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())))
    const started = Date.now()
    // Every call is handed to the thread pool before the first one settles.
    const pending = requests.map((r) => c.startCallback(r))
    const results = (await Promise.allSettled(pending)).map(outcome)
    return { results, started, finished: Date.now(), tokensSeen }
  },
}

process.on('message', async (msg) => {
  let reply
  try {
    reply = { id: msg.id, ok: true, value: await ops[msg.op](msg) }
  } catch (e) {
    reply = { id: msg.id, ok: false, error: String(e && e.stack) }
  }
  process.send(reply)
})
process.on('disconnect', () => process.exit(0))
process.send({ ready: true, version: pkg.version() })
