#!/bin/sh
# Installs what lunshare needs from Debian's packages: the build dependencies, and with
# --test also what the test suite, the benchmarks and the shipped recipes' checks use. Run as root (or with sudo).
set -eu
build="cmake make gcc pkg-config lua5.4 liblua5.4-dev libcap-dev libmnl-dev libseccomp-dev libedit2 uidmap passt tinyproxy"
test="lua-busted bubblewrap hyperfine iproute2 iputils-ping util-linux valgrind strace procps tmux time python3 curl luarocks"
# The programs of the shipped recipes, whose checks (lunshare test) the suite runs.
recipes="python3 perl git tar unzip sqlite3 jq imagemagick poppler-utils file patch diffutils binutils
  mawk grep coreutils findutils gzip xz-utils bzip2"
pkgs="$build"
[ "${1:-}" = "--test" ] && pkgs="$build $test $recipes"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
