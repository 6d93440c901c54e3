// A fake portal in a process of its own, for the benchmarks and the load script (so that the
// measured process holds only the client): `bitrix24-callback/testing` from the package under
// test. Prints the portal's info (JSON, one line) once it listens, and stops when its standard
// input closes (the parent exits or ends it).
//
//   node node/bench/portal.mjs '{"burst": 1000000, "drainPerSecond": 1000000}' [resetEveryMs]
//
// With `resetEveryMs` the portal forgets its ledger, calls, records and requests that often, so
// that its own memory stays bounded under load.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const pkgDir = path.resolve(here, '..', '..', process.env.B24_NODE_PACKAGE || 'node')
const { FakePortal } = createRequire(import.meta.url)(path.join(pkgDir, 'testing.js'))

const portal = await FakePortal.start(JSON.parse(process.argv[2] || '{}'))
const resetEvery = Number(process.argv[3] || 0)
if (resetEvery > 0) setInterval(() => portal.reset(), resetEvery)
process.stdout.write(JSON.stringify(portal.info()) + '\n')
process.stdin.resume()
process.stdin.on('end', () => portal.close().then(() => process.exit(0)))
