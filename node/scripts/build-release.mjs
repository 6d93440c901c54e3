// `npm run build:release [-- --target TRIPLE]`: the addon that packing ships: optimised, no
// test hooks, into artifacts/bitrix24-callback.<platform>.node. Stripped of its symbol table:
// napi's `--strip` asks the linker (`-C link-arg=-s`), which rustc's own `--strip-debug` of
// release builds overrides on Linux, so rustc is asked too (`-C strip=symbols`).
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const nodeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const napi = path.join(nodeDir, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
const rustflags = [process.env.RUSTFLAGS, '-C strip=symbols'].filter(Boolean).join(' ')
const args = [
  napi, 'build', '--platform', '--release', '--strip',
  '--manifest-path', '../bindings/node/Cargo.toml', '--no-const-enum',
  // The types are those of `npm run build` (committed); this copy stays in artifacts/.
  '--output-dir', 'artifacts', '--no-js', '--dts', 'index.d.ts',
  ...process.argv.slice(2),
]
const r = spawnSync(process.execPath, args, { cwd: nodeDir, stdio: 'inherit', env: { ...process.env, RUSTFLAGS: rustflags } })
process.exit(r.status ?? 1)
