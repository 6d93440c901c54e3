#!/usr/bin/env node
// Prepares and checks the npm packages of a release: the main package `bitrix24-callback`
// (node/) and the per-platform packages that `napi create-npm-dirs` and `napi artifacts` put in
// node/npm/<platform>/.
//
//   node .github/scripts/npm-packages.mjs prepare [--root node] [--npm-dir node/npm]
//       Copies LICENSE-MIT and LICENSE-APACHE from the repository root into the main package
//       and every platform package, lists them in each platform package's `files` (npm packs
//       LICENSE and LICENSE.* by itself, but not LICENSE-MIT or LICENSE-APACHE), and removes
//       the `.node` copies `napi artifacts` also leaves in the main package's directory (they
//       belong to the platform packages only).
//
//   node .github/scripts/npm-packages.mjs check --version X.Y.Z [--root node] [--npm-dir node/npm]
//       Runs `npm pack --dry-run --json` on every package and checks what would be published:
//       one version everywhere; the main package with its loader, types, README and both
//       license files and no `.node`; one `optionalDependencies` entry per configured target,
//       at that version; a `repository` (npm provenance needs it); each platform package with
//       exactly its own `.node`, both license files, the same repository and license, and
//       `os`/`cpu` (and `libc` on Linux). Prints each package's packed size.
//       Every problem is reported; the exit status is 1 if there is any.
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const LICENSES = ['LICENSE-MIT', 'LICENSE-APACHE']

function parseArgs(argv) {
  const [command, ...rest] = argv
  const opts = { root: join(repoRoot, 'node'), npmDir: null, version: null }
  for (let i = 0; i < rest.length; i++) {
    const [key, value] = [rest[i], rest[i + 1]]
    if (key === '--root') opts.root = resolve(value)
    else if (key === '--npm-dir') opts.npmDir = resolve(value)
    else if (key === '--version') opts.version = value
    else throw new Error(`unknown argument ${key}`)
    i++
  }
  opts.npmDir ??= join(opts.root, 'npm')
  return { command, opts }
}

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'))

function platformDirs(npmDir) {
  if (!existsSync(npmDir)) return []
  return readdirSync(npmDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(npmDir, d.name, 'package.json')))
    .map((d) => join(npmDir, d.name))
    .sort()
}

function prepare({ root, npmDir }) {
  const dirs = platformDirs(npmDir)
  if (dirs.length === 0) throw new Error(`no platform packages in ${npmDir} (run napi create-npm-dirs first)`)
  for (const dir of [root, ...dirs]) {
    for (const name of LICENSES) copyFileSync(join(repoRoot, name), join(dir, name))
  }
  for (const dir of dirs) {
    const path = join(dir, 'package.json')
    const pkg = readJson(path)
    pkg.files = [...new Set([...(pkg.files ?? []), ...LICENSES])]
    writeFileSync(path, JSON.stringify(pkg, null, 2) + '\n')
  }
  for (const entry of readdirSync(root)) {
    if (entry.endsWith('.node')) rmSync(join(root, entry))
  }
  console.log(`licenses copied into ${dirs.length + 1} packages; .node files removed from ${root}`)
}

function packedFiles(dir) {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const [info] = JSON.parse(out)
  return { files: info.files.map((f) => f.path), size: info.size, unpackedSize: info.unpackedSize }
}

function check({ root, npmDir, version }) {
  if (!version) throw new Error('check needs --version')
  const problems = []
  const rows = []
  const main = readJson(join(root, 'package.json'))
  const targets = main.napi?.targets ?? []
  const binaryName = main.napi?.binaryName ?? main.name

  if (main.version !== version) problems.push(`${main.name}: version ${main.version}, expected ${version}`)
  if (!main.repository) problems.push(`${main.name}: no repository (npm refuses --provenance without it; it is also the package page's link)`)
  const mainPack = packedFiles(root)
  rows.push([main.name, mainPack])
  for (const required of ['package.json', 'README.md', ...LICENSES]) {
    if (!mainPack.files.includes(required)) problems.push(`${main.name}: ${required} is not packed`)
  }
  for (const entry of [main.main, main.types, ...Object.values(main.exports?.['.'] ?? {})]) {
    if (typeof entry === 'string' && !mainPack.files.includes(entry.replace(/^\.\//, ''))) {
      problems.push(`${main.name}: ${entry} (named in package.json) is not packed`)
    }
  }
  const nodeFiles = mainPack.files.filter((f) => f.endsWith('.node'))
  if (nodeFiles.length) problems.push(`${main.name}: packs native files ${nodeFiles.join(', ')} (they belong to the platform packages)`)

  const optional = main.optionalDependencies ?? {}
  const dirs = platformDirs(npmDir)
  const seen = new Set()
  for (const dir of dirs) {
    const pkg = readJson(join(dir, 'package.json'))
    seen.add(pkg.name)
    const pack = packedFiles(dir)
    rows.push([pkg.name, pack])
    if (pkg.version !== version) problems.push(`${pkg.name}: version ${pkg.version}, expected ${version}`)
    if (optional[pkg.name] !== version) {
      problems.push(`${main.name}: optionalDependencies ${pkg.name} is ${optional[pkg.name] ?? 'missing'}, expected ${version}`)
    }
    const platform = dir.split(/[\\/]/).pop()
    const own = `${binaryName}.${platform}.node`
    const natives = pack.files.filter((f) => f.endsWith('.node'))
    if (natives.length !== 1 || natives[0] !== own) {
      problems.push(`${pkg.name}: packs ${natives.join(', ') || 'no .node'}, expected exactly ${own}`)
    }
    for (const required of ['package.json', ...LICENSES]) {
      if (!pack.files.includes(required)) problems.push(`${pkg.name}: ${required} is not packed`)
    }
    if (!pkg.os?.length || !pkg.cpu?.length) problems.push(`${pkg.name}: os/cpu are not set`)
    if (pkg.os?.includes('linux') && !pkg.libc?.length) problems.push(`${pkg.name}: libc is not set`)
    if (JSON.stringify(pkg.repository) !== JSON.stringify(main.repository)) problems.push(`${pkg.name}: repository differs from the main package`)
    if (pkg.license !== main.license) problems.push(`${pkg.name}: license ${pkg.license}, main package says ${main.license}`)
  }
  if (dirs.length !== targets.length) {
    problems.push(`${dirs.length} platform packages in ${npmDir}, package.json configures ${targets.length} targets`)
  }
  for (const name of Object.keys(optional)) {
    if (name.startsWith(`${main.name}-`) && !seen.has(name)) {
      problems.push(`${main.name}: optionalDependencies names ${name}, which is not among the platform packages`)
    }
  }

  for (const [name, pack] of rows) {
    console.log(`${name.padEnd(40)} ${String(pack.size).padStart(10)} B packed ${String(pack.unpackedSize).padStart(10)} B unpacked  ${pack.files.length} files`)
  }
  if (problems.length) {
    console.error(`\n${problems.length} npm package problem(s):`)
    for (const p of problems) console.error(`  - ${p}`)
    process.exit(1)
  }
  console.log(`${rows.length} npm packages ready at ${version}`)
}

const { command, opts } = parseArgs(process.argv.slice(2))
if (command === 'prepare') prepare(opts)
else if (command === 'check') check(opts)
else {
  console.error('usage: npm-packages.mjs prepare|check [--version X.Y.Z] [--root node] [--npm-dir node/npm]')
  process.exit(2)
}
