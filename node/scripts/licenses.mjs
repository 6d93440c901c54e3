// `node scripts/licenses.mjs copy DIR...`: copies the repository's license files (LICENSE-MIT,
// LICENSE-APACHE, at its root) into each package directory and names them in the `files` of its
// package.json (npm ships a LICENSE-* file only when listed), so that `npm pack` ships them
// (prepack; also used for the per-platform packages at release time, after
// `napi create-npm-dirs`). A missing license file is an error: no package goes out without its
// licenses.
// `node scripts/licenses.mjs remove DIR...`: removes those copies again (postpack).
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const FILES = ['LICENSE-MIT', 'LICENSE-APACHE']
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const [action, ...dirs] = process.argv.slice(2)

if (!['copy', 'remove'].includes(action) || dirs.length === 0) {
  console.error('usage: node scripts/licenses.mjs copy|remove DIR...')
  process.exit(2)
}
for (const dir of dirs) {
  for (const file of FILES) {
    const target = path.join(dir, file)
    if (action === 'remove') {
      rmSync(target, { force: true })
      continue
    }
    const source = path.join(root, file)
    if (!existsSync(source)) {
      console.error(`licenses.mjs: ${file} is missing at the repository root; a package cannot be packed without it`)
      process.exit(1)
    }
    copyFileSync(source, target)
  }
  const manifest = path.join(dir, 'package.json')
  if (action === 'copy' && existsSync(manifest)) {
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'))
    if (Array.isArray(pkg.files) && FILES.some((f) => !pkg.files.includes(f))) {
      pkg.files = [...pkg.files, ...FILES.filter((f) => !pkg.files.includes(f))]
      writeFileSync(manifest, JSON.stringify(pkg, null, 2) + '\n')
    }
  }
}
