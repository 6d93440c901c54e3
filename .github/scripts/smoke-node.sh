#!/bin/sh
# Installs the packed npm packages into a fresh project, the way a user would (the main package
# and this platform's package; nothing from the repository), and uses them from CJS and ESM:
#
#   .github/scripts/smoke-node.sh TARBALL_DIR PLATFORM EXPECTED_VERSION
#
# TARBALL_DIR holds what `npm pack` made: bitrix24-callback-<version>.tgz and
# bitrix24-callback-<platform>-<version>.tgz (PLATFORM as napi names it: linux-x64-gnu,
# darwin-arm64, win32-x64-msvc, ...). POSIX sh: it also runs in the node:*-alpine containers.
set -eu
dir=$(cd "$1" && pwd)
platform=$2
version=$3
main="$dir/bitrix24-callback-$version.tgz"
native="$dir/bitrix24-callback-$platform-$version.tgz"
if command -v cygpath >/dev/null 2>&1; then main=$(cygpath -w "$main"); native=$(cygpath -w "$native"); fi

work=$(mktemp -d)
cd "$work"
npm init -y >/dev/null
# The other platforms' packages are optional dependencies; before they are published npm
# cannot find them and skips them, as it skips them for users on other platforms.
npm install --no-audit --no-fund --loglevel=error "$main" "$native"
export EXPECTED_VERSION="$version"
node -e '
const assert = require("node:assert");
const b = require("bitrix24-callback");
assert.strictEqual(b.version(), process.env.EXPECTED_VERSION);
console.log("cjs: bitrix24-callback", b.version(), "on", process.platform, process.arch);
'
node --input-type=module -e '
import assert from "node:assert";
import { createRequire } from "node:module";
import * as esm from "bitrix24-callback";
const cjs = createRequire(import.meta.url)("bitrix24-callback");
assert.strictEqual(esm.version(), process.env.EXPECTED_VERSION);
const names = (o) => Object.keys(o).filter((k) => k !== "default").sort();
assert.deepStrictEqual(names(esm), names(cjs), "ESM and CJS export different names");
console.log("esm: the same", names(esm).length, "names as cjs");
'
# The fake portal in the box (issue 14): both module systems.
node -e 'require("bitrix24-callback/testing"); console.log("cjs: bitrix24-callback/testing loads")'
node --input-type=module -e 'await import("bitrix24-callback/testing"); console.log("esm: bitrix24-callback/testing loads")'
echo "node smoke: ok"
