#!/usr/bin/env bash
# Startup cost of a sandbox with every namespace of the default profile and nothing else
# (tests/bench/namespaces.lua: no new root, no seccomp filter): lunshare against util-linux
# unshare and bubblewrap building the same namespaces, and against a bare C program
# (tests/bench/bare_clone.c) that only clones, maps and execs. Prints the median wall time
# and peak RSS of each, and the ratios. Not a pass/fail test. tests/bench/fs_bench.sh
# times the default profile, with its root, against bubblewrap doing the same.
#
#   tests/bench/startup.sh [RUNS]      (default 200 runs per command; root or not)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-200}
BIN=${LUNSHARE_BIN:-$ROOT/build/lunshare}
work=$(mktemp -d /tmp/lunshare-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/bare" "$ROOT/tests/bench/bare_clone.c"
cd /

declare -A CMDS=(
  [lunshare]="$BIN run $ROOT/tests/bench/namespaces.lua -- /bin/true"
  [unshare]="unshare --user --map-root-user --mount --pid --net --ipc --uts --cgroup --time --fork /bin/true"
  [bwrap]="bwrap --unshare-all --unshare-user --uid 0 --gid 0 --hostname lunshare --dev-bind / / /bin/true"
  [bare]="$work/bare /bin/true"
)
ORDER="lunshare bwrap unshare bare"

for name in $ORDER; do
  hyperfine --runs "$RUNS" --warmup 10 -N --export-json "$work/$name.json" "${CMDS[$name]}" >/dev/null 2>&1 ||
    { echo "$name: failed to run: ${CMDS[$name]}"; exit 1; }
done

median() { lua5.4 -e "local s = io.open('$work/$1.json'):read('a'); print(s:match('\"median\":%s*([%d%.e%-]+)'))"; }
rss() {
  local best=999999999
  for _ in 1 2 3 4 5; do
    local kb
    kb=$( { /usr/bin/time -f '%M' ${CMDS[$1]} >/dev/null; } 2>&1 | tail -1)
    [ "$kb" -lt "$best" ] && best=$kb
  done
  echo "$best"
}

printf '%-10s %12s %14s\n' command "median (ms)" "peak RSS (KiB)"
declare -A MED
for name in $ORDER; do
  MED[$name]=$(median "$name")
  printf '%-10s %12.3f %14d\n' "$name" "$(lua5.4 -e "print(${MED[$name]} * 1000)")" "$(rss "$name")"
done
ratio() { lua5.4 -e "print(string.format('%.2f', ${MED[$1]} / ${MED[$2]}))"; }
echo
echo "lunshare / bwrap:   $(ratio lunshare bwrap)x   (target <= 1.0)"
echo "lunshare / unshare: $(ratio lunshare unshare)x"
echo "lunshare / bare:    $(ratio lunshare bare)x   (target <= 1.3)"
