#!/usr/bin/env bash
# scripts/newcomer_check.sh [ROOT] [demo|test|both] — try README's two commands as a newcomer would:
# in a minimal Debian 12 root (debootstrap --variant=minbase bookworm) that gets only git, on a
# fresh clone of this repository's committed HEAD with no sibling folders. Needs root, debootstrap
# and network access to Debian and the npm registry. Not run by CI (it installs a whole system);
# docs/newcomer-check.md has the procedure and the results. Default ROOT: /var/tmp/calib8-root12.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
R="${1:-/var/tmp/calib8-root12}"
STEP="${2:-both}"
[ "$(id -u)" -eq 0 ] || { echo "newcomer_check.sh: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
if [ ! -x "$R/bin/bash" ]; then
  echo "== debootstrap --variant=minbase bookworm $R"
  debootstrap --variant=minbase bookworm "$R" http://deb.debian.org/debian >/dev/null
fi
# /proc, /sys and /dev for the build and Chromium; this machine's extra CA certificates (a proxy's)
# so that apt and npm can verify their registries; the repository read-only at /mnt/src.
for d in proc sys dev dev/pts; do mountpoint -q "$R/$d" || mount --bind "/$d" "$R/$d"; done
mkdir -p "$R/mnt/src" "$R/usr/local/share/ca-certificates"
mountpoint -q "$R/mnt/src" || { mount --bind "$SRC" "$R/mnt/src" && mount -o remount,bind,ro "$R/mnt/src"; }
cp -r /usr/local/share/ca-certificates/. "$R/usr/local/share/ca-certificates/" 2>/dev/null || true
cp /etc/resolv.conf "$R/etc/resolv.conf"
run_in_root() {
  chroot "$R" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TERM=dumb LANG=C.UTF-8 /bin/bash -c "$1"
}
run_in_root '
set -e
if [ ! -d /root/calib8 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git ca-certificates >/dev/null
  update-ca-certificates >/dev/null
  git clone -q /mnt/src /root/calib8
fi
cd /root/calib8 && git log --oneline -1
test -z "$(find .. -mindepth 1 -maxdepth 1 -type d ! -name calib8 ! -name ".*")" && echo "no folder beside the clone"'
rc=0
if [ "$STEP" = demo ] || [ "$STEP" = both ]; then
  run_in_root 'cd /root/calib8 && time scripts/demo.sh' || rc=$?
  echo "== scripts/demo.sh in the minimal root: rc $rc"
fi
if [ $rc -eq 0 ] && { [ "$STEP" = test ] || [ "$STEP" = both ]; }; then
  run_in_root 'cd /root/calib8 && time scripts/test.sh' || rc=$?
  echo "== scripts/test.sh in the minimal root: rc $rc"
fi
for d in mnt/src dev/pts dev sys proc; do umount "$R/$d" 2>/dev/null || true; done
exit $rc
