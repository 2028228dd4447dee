#!/usr/bin/env bash
# The cost of the filesystem view, as whole processes: `lunshare run default -- /bin/true`
# against bubblewrap with the equivalent arguments and against bare_sandbox.c, the least a
# C program must do for the same sandbox. Prints each median and the ratios; the targets
# are lunshare <= 1.0x bubblewrap and <= 1.5x the bare program. Not a pass/fail test.
#
#   tests/bench/fs_bench.sh              as the caller (root on CI)
#   MODE=rootless tests/bench/fs_bench.sh  as nobody, through setpriv
#   RUNS=300 tests/bench/fs_bench.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-200}
MODE=${MODE:-$( [ "$(id -u)" = 0 ] && echo root || echo user )}
BIN=$ROOT/build/lunshare
OUT=$ROOT/build/bench
mkdir -p "$OUT"
chmod 755 "$OUT"

[ -x "$BIN" ] || { echo "build lunshare first (tests/run --quick or cmake --build build)" >&2; exit 1; }
for tool in hyperfine bwrap cc jq; do
  command -v $tool >/dev/null || { echo "fs_bench: needs $tool" >&2; exit 1; }
done
cc -O2 -o "$OUT/bare_sandbox" "$ROOT/tests/bench/bare_sandbox.c"

# bubblewrap doing what profiles/default.lua does (bwrap has no time namespace).
BWRAP="bwrap --unshare-all --unshare-user --uid 0 --gid 0 --hostname lunshare \
 --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/sbin /sbin \
 --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
 --ro-bind-try /etc/ld.so.cache /etc/ld.so.cache --ro-bind-try /etc/nsswitch.conf /etc/nsswitch.conf \
 --ro-bind-try /etc/localtime /etc/localtime --ro-bind-try /etc/ssl/certs /etc/ssl/certs \
 --ro-bind-try /etc/ca-certificates /etc/ca-certificates --ro-bind-try /etc/alternatives /etc/alternatives \
 --proc /proc --dev /dev --tmpfs /tmp --remount-ro / --chdir / --clearenv --setenv PATH /usr/bin:/bin \
 /bin/true"
LUNSHARE="$BIN run default -- /bin/true"
BARE="$OUT/bare_sandbox /bin/true"

PREFIX=""
if [ "$MODE" = rootless ]; then
  PREFIX="setpriv --reuid=65534 --regid=65534 --clear-groups -- "
fi

# Each must work before it is timed.
for cmd in "$LUNSHARE" "$BWRAP" "$BARE"; do
  $PREFIX $cmd || { echo "fs_bench: fails: $cmd" >&2; exit 1; }
done

ROUNDS=${ROUNDS:-10}
echo "# $(uname -r), $(nproc) cpus, mode $MODE, $RUNS runs each in $ROUNDS interleaved rounds"
# Rounds alternate the three commands, so that load from other processes on the machine
# falls on all of them alike; the medians are over every run of every round.
per=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
: >"$OUT/times.txt"
for r in $(seq "$ROUNDS"); do
  hyperfine -N --warmup 5 --runs "$per" --export-json "$OUT/round.json" \
    -n lunshare "$PREFIX$LUNSHARE" -n bwrap "$PREFIX$BWRAP" -n bare "$PREFIX$BARE" >/dev/null 2>&1
  jq -r '.results[] | .command as $c | .times[] | "\($c) \(. * 1000)"' "$OUT/round.json" >>"$OUT/times.txt"
done

median() { awk -v c="$1" '$1 == c { print $2 }' "$OUT/times.txt" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
l=$(median lunshare)
b=$(median bwrap)
c=$(median bare)
awk -v l="$l" -v b="$b" -v c="$c" 'BEGIN {
  printf "median  lunshare %.2f ms   bwrap %.2f ms   bare %.2f ms\n", l, b, c
  printf "ratio   lunshare/bwrap %.2fx (target <= 1.0)   lunshare/bare %.2fx (target <= 1.5)\n", l / b, l / c
}'
