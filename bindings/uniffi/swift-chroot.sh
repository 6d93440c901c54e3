#!/usr/bin/env bash
# Makes sure a Debian 13 (trixie) chroot with the Swift toolchain (Debian's `swiftlang`)
# exists and prints its path. The chroot lives OUTSIDE the repository and is reused:
#   B24_SWIFT_CHROOT (default /var/cache/bitrix24-callback/swift-trixie)
# Needs root (debootstrap, chroot, mount). Bookworm cannot install swiftlang itself (it needs
# glibc >= 2.38), hence the chroot. /proc is mounted only while apt runs and unmounted again.
set -euo pipefail
LOG_PREFIX=swift-chroot
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

root="${B24_SWIFT_CHROOT:-/var/cache/bitrix24-callback/swift-trixie}"
mirror="${B24_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ -x "$root/usr/bin/swiftc" ] && [ -f "$root/.b24-ready" ]; then
    echo "$root"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "root is needed to create $root (debootstrap + chroot)"

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
# Another run may have finished it while we waited for the lock.
if [ -x "$root/usr/bin/swiftc" ] && [ -f "$root/.b24-ready" ]; then
    echo "$root"
    exit 0
fi

command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap

work="$root.partial"
cleanup() {
    if mountpoint -q "$work/proc" 2>/dev/null; then umount "$work/proc" || umount -l "$work/proc"; fi
}
on_exit cleanup
cleanup
rm -rf "$work"

log "debootstrap trixie into $work (about 40 s)"
debootstrap --variant=minbase trixie "$work" "$mirror" >&2
mount -t proc proc "$work/proc"
chroot "$work" apt-get update -qq >&2
log "installing swiftlang in the chroot (about 530 MB download)"
chroot "$work" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    swiftlang libc6-dev libstdc++-14-dev >&2
chroot "$work" apt-get clean >&2
cleanup
touch "$work/.b24-ready"
# An unfinished older chroot is replaced; never delete through a mounted /proc.
if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || umount -l "$root/proc"; fi
rm -rf "$root"
mv "$work" "$root"
echo "$root"
