#!/usr/bin/env bash
# A release candidate built and checked on this machine (Linux x86_64), the way the release
# workflow builds and checks its Linux x86_64 part, without publishing anything:
#
#   .github/scripts/release-candidate.sh [OUT_DIR]        (default: dist/rc)
#
#   1. the versions agree (check-versions.py);
#   2. Python: the manylinux2014 abi3 wheel (maturin --zig) and the sdist; check-python-dists.py,
#      twine check --strict, auditwheel show; the wheel installed into a fresh venv and imported
#      from outside the checkout (smoke-python.sh);
#   3. npm: the linux-x64-gnu addon built as the workflow builds it (napi build --release
#      --strip --use-napi-cross, glibc 2.17), the main and the platform package assembled by
#      napi's own commands in a copy of node/ whose napi.targets is this platform only,
#      npm-packages.mjs check, npm pack, and both tarballs installed into a fresh project and
#      used from CJS and ESM (smoke-node.sh).
#
# Needs the Rust toolchain, python3 (3.11+) and Node.js/npm; installs maturin, ziglang,
# auditwheel and twine into OUT_DIR/venv and the napi CLI from node/package-lock.json. Honours
# CARGO_TARGET_DIR. Nothing in the work tree changes. A failed build stops the script; a
# failed check is reported and the script goes on, then exits 1 with the list.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/dist/rc}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$root/$CARGO_TARGET_DIR" ;; esac
    export CARGO_TARGET_DIR
fi

failed=()
step() { printf '\n==> %s\n' "$*"; }
check() {
    local name=$1; shift
    if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failed+=("$name"); fi
}

step "versions"
rm -f "$out/versions.env"
version="" pep440=""
check "versions agree" python3 "$root/.github/scripts/check-versions.py" --github-output "$out/versions.env"
# shellcheck disable=SC1091
. "$out/versions.env"
echo "version $version (Python $pep440)"

step "Python: tools"
venv="$out/venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --disable-pip-version-check -q \
    "maturin==1.16.0" "ziglang==0.17.1" "auditwheel==6.8.2" "twine==7.0.0"

step "Python: manylinux2014 wheel and sdist"
pydist="$out/python"
rm -rf "$pydist"
(
    cd "$root/python"
    PATH="$venv/bin:$PATH" maturin build --release --locked --strip --zig \
        --compatibility manylinux2014 --out "$pydist"
    PATH="$venv/bin:$PATH" maturin sdist --out "$pydist"
)
ls -l "$pydist"

step "Python: checks"
check "python distributions" python3 "$root/.github/scripts/check-python-dists.py" "$pydist" --version "$pep440"
check "twine check --strict" "$venv/bin/twine" check --strict "$pydist"/*
auditwheel_manylinux2014() {
    local w out
    for w in "$pydist"/*.whl; do
        out=$("$venv/bin/auditwheel" show "$w")
        echo "$out"
        # auditwheel wraps its text at the terminal's width: join the lines first.
        printf '%s\n' "$out" | tr -s ' \n' '  ' \
            | grep -q 'consistent with the following platform tag: "manylinux_2_17' || return 1
    done
}
check "auditwheel: manylinux_2_17" auditwheel_manylinux2014
check "wheel installed and imported" "$root/.github/scripts/smoke-python.sh" python3 "$pydist" "$pep440"

step "npm: the linux-x64-gnu addon"
pkg="$out/node-package"
rm -rf "$pkg"
mkdir -p "$pkg"
(cd "$root/node" && tar --exclude=./node_modules --exclude='./*.node' --exclude=./npm --exclude=./artifacts -cf - .) \
    | tar -xf - -C "$pkg"
cd "$pkg"
npm ci --no-audit --no-fund --loglevel=error
# The same command as the workflow's linux-x64-gnu job (its output goes into the copy).
npx napi build --platform --release --manifest-path "$root/bindings/node/Cargo.toml" --output-dir . \
    --js index.js --dts index.d.ts --no-const-enum \
    --target x86_64-unknown-linux-gnu --strip --use-napi-cross
check "committed index.js / index.d.ts are what a release build generates" \
    diff -q index.js "$root/node/index.js"
check "committed index.d.ts is what a release build generates" diff -q index.d.ts "$root/node/index.d.ts"
mkdir -p artifacts/node-bindings-x86_64-unknown-linux-gnu
mv ./*.node artifacts/node-bindings-x86_64-unknown-linux-gnu/

step "npm: packages assembled (napi create-npm-dirs, napi artifacts, napi pre-publish --skip-optional-publish)"
node -e '
const fs = require("fs");
const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
p.napi.targets = ["x86_64-unknown-linux-gnu"];
fs.writeFileSync("package.json", JSON.stringify(p, null, 2) + "\n");'
npx napi create-npm-dirs
npx napi artifacts --output-dir artifacts
node "$root/.github/scripts/npm-packages.mjs" prepare --root "$pkg"
npx napi pre-publish -t npm --no-gh-release --skip-optional-publish
check "npm packages" node "$root/.github/scripts/npm-packages.mjs" check --root "$pkg" --version "$version"
tarballs="$out/npm"
rm -rf "$tarballs"
mkdir -p "$tarballs"
npm pack --ignore-scripts --pack-destination "$tarballs" --loglevel=error > /dev/null
npm pack --ignore-scripts --pack-destination "$tarballs" --loglevel=error ./npm/linux-x64-gnu > /dev/null
ls -l "$tarballs"
check "npm packages installed and used (CJS, ESM)" "$root/.github/scripts/smoke-node.sh" "$tarballs" linux-x64-gnu "$version"

step "summary"
echo "release candidate $version in $out:"
# shellcheck disable=SC2012
ls -l "$pydist" "$tarballs" | sed 's/^/  /'
if [ ${#failed[@]} -gt 0 ]; then
    echo "${#failed[@]} check(s) failed:"
    printf '  - %s\n' "${failed[@]}"
    exit 1
fi
echo "every check passed"
