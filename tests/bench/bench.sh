#!/usr/bin/env bash
# Issue #14's numbers in one run: lunshare's start against bubblewrap, util-linux unshare and
# the bare C sandbox, as root and rootless (setpriv to nobody), in alternating rounds:
#
#   lunshare      run default -- /bin/true               (warm plan cache)
#   nocache       run --no-cache default -- /bin/true    (a cache miss's work, every time)
#   bwrap         the bubblewrap command line of issue #14 for the same sandbox
#   lunshare_ns   run tests/bench/namespaces.lua -- /bin/true
#   bwrap_ns      bwrap --unshare-all --dev-bind / / /bin/true
#   unshare       util-linux unshare with the same namespaces (beside bwrap_ns)
#   bare          tests/bench/bare_sandbox.c: clone, maps, mounts, exec and nothing else
#
# For each it prints the median wall time of one start, the spread (the 10th and 90th
# percentile), its ratio to its bubblewrap counterpart (the median of the per-round ratios,
# with their lowest and highest), the peak RSS (wait4's ru_maxrss: the largest process of
# the run, supervisor, pid 1 or command) and the starts per second with 1 and 2 in flight.
# Ratios and numbers, never pass/fail: the machine may be busy, so use many rounds.
#
#   old, old_nocache  the same two with LUNSHARE_OLD, another build (a before/after in one run)
#
#   tests/bench/bench.sh                   ROUNDS=20 PER=15 RATE=40 MODES="root rootless"
#   LUNSHARE_OLD=/tmp/old/lunshare tests/bench/bench.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${LUNSHARE_BIN:-$ROOT/build/lunshare}
ROUNDS=${ROUNDS:-20}   # alternating rounds
PER=${PER:-15}         # timed starts of each command per round
RATE=${RATE:-40}       # back-to-back starts per command, round and in-flight count
if [ "$(id -u)" = 0 ]; then MODES=${MODES:-root rootless}; else MODES=${MODES:-user}; fi

[ -x "$BIN" ] || { echo "bench: build lunshare first (cmake --build build)" >&2; exit 1; }
for tool in bwrap unshare cc lua5.4; do
  command -v $tool >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }
done
work=$(mktemp -d /tmp/lunshare-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
cc -O2 -o "$work/startbench" "$ROOT/tests/bench/startbench.c"
cc -O2 -o "$work/bare" "$ROOT/tests/bench/bare_sandbox.c"
cd /

BWRAP=$(command -v bwrap)
UNSHARE=$(command -v unshare)
TRUE=/bin/true
cmds=(
  "lunshare=$BIN run default -- $TRUE"
  "bwrap=$BWRAP --unshare-all --die-with-parent --new-session --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --proc /proc --dev /dev --tmpfs /tmp -- $TRUE"
  "lunshare_ns=$BIN run $ROOT/tests/bench/namespaces.lua -- $TRUE"
  "bwrap_ns=$BWRAP --unshare-all --dev-bind / / $TRUE"
  "unshare=$UNSHARE --user --map-root-user --mount --pid --net --ipc --uts --cgroup --time --fork $TRUE"
  "bare=$work/bare $TRUE"
)
if "$BIN" run --no-cache default -- $TRUE >/dev/null 2>&1; then
  cmds+=("nocache=$BIN run --no-cache default -- $TRUE")
fi
OLD=${LUNSHARE_OLD:-}
if [ -n "$OLD" ]; then
  cmds+=("old=$OLD run default -- $TRUE")
  "$OLD" run --no-cache default -- $TRUE >/dev/null 2>&1 && cmds+=("old_nocache=$OLD run --no-cache default -- $TRUE")
fi

echo "# $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), lunshare $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
echo "# $ROUNDS alternating rounds; per round $PER timed starts of each and $RATE back-to-back starts with 1 and 2 in flight"
for mode in $MODES; do
  prefix=()
  [ "$mode" = rootless ] && prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
  # The plan cache of this mode's runs: a directory of the bench's own (nothing is left in
  # /run), warmed by one run before the timing.
  export LUNSHARE_CACHE_DIR="$work/cache-$mode"
  mkdir -m 700 "$LUNSHARE_CACHE_DIR"
  [ "$mode" = rootless ] && chown 65534:65534 "$LUNSHARE_CACHE_DIR"
  "${prefix[@]}" "$BIN" run default -- $TRUE && "${prefix[@]}" "$BIN" run "$ROOT/tests/bench/namespaces.lua" -- $TRUE ||
    { echo "bench: $mode: lunshare run failed" >&2; exit 1; }
  [ -z "$OLD" ] || "${prefix[@]}" "$OLD" run default -- $TRUE || { echo "bench: $mode: $OLD run failed" >&2; exit 1; }
  "${prefix[@]}" "$work/startbench" "$ROUNDS" "$PER" 0 "${cmds[@]}" >"$work/$mode.time" ||
    { echo "bench: $mode: a command failed (above)" >&2; exit 1; }
  "${prefix[@]}" "$work/startbench" "$ROUNDS" "$RATE" 2 "${cmds[@]}" >"$work/$mode.rate" ||
    { echo "bench: $mode: a command failed (above)" >&2; exit 1; }
  echo
  echo "## $mode"
  lua5.4 - "$work/$mode.time" "$work/$mode.rate" <<'EOF'
local times, rates, rss, rounds = {}, {}, {}, {}
local order = { "lunshare", "nocache", "old", "old_nocache", "bwrap", "bare", "lunshare_ns", "bwrap_ns", "unshare" }
local function q(t, p)
  table.sort(t)
  local i = p * (#t - 1) + 1
  local lo = math.floor(i)
  return t[lo] + (t[math.min(lo + 1, #t)] - t[lo]) * (i - lo)
end
for line in io.lines(arg[1]) do
  local name, round, secs, kb = line:match("^time (%S+) (%d+) (%S+) (%d+)")
  if not times[name] then times[name], rss[name], rounds[name] = {}, {}, {} end
  table.insert(times[name], secs * 1000)
  table.insert(rss[name], tonumber(kb))
  rounds[name][round] = rounds[name][round] or {}
  table.insert(rounds[name][round], secs * 1000)
end
for line in io.lines(arg[2]) do
  local name, k, rate = line:match("^rate (%S+) %d+ (%d) (%S+)")
  rates[name .. k] = rates[name .. k] or {}
  table.insert(rates[name .. k], tonumber(rate))
end
local base = { lunshare = "bwrap", nocache = "bwrap", old = "bwrap", old_nocache = "bwrap", lunshare_ns = "bwrap_ns", bare = "bwrap",
  unshare = "bwrap_ns" }
local function ratios(a, b)
  local r = {}
  for round, ts in pairs(rounds[a]) do
    if rounds[b][round] then r[#r + 1] = q(ts, 0.5) / q(rounds[b][round], 0.5) end
  end
  return r
end
print(string.format("%-12s %8s %15s %-30s %9s %11s %11s", "command", "median", "p10-p90 (ms)",
  "ratio (min-max)", "peak RSS", "starts/s1", "starts/s2"))
for _, name in ipairs(order) do
  if not times[name] then goto next end
  local med = q(times[name], 0.5)
  local ratio = "-"
  local b = base[name]
  if b and rounds[b] then
    local r = ratios(name, b)
    table.sort(r)
    ratio = string.format("%.2fx %s (%.2f-%.2f)", q(r, 0.5), b, r[1], r[#r])
  end
  local peak = 0
  for _, kb in ipairs(rss[name]) do peak = math.max(peak, kb) end
  local function rate(k)
    local t = rates[name .. k]
    if not t then return "-" end
    local s = string.format("%.0f", q(t, 0.5))
    if b and rates[b .. k] then s = s .. string.format(" %.2fx", q(t, 0.5) / q(rates[b .. k], 0.5)) end
    return s
  end
  print(string.format("%-12s %6.2fms %6.2f-%-6.2f %-30s %6.0fKiB %11s %11s", name, med, q(times[name], 0.1),
    q(times[name], 0.9), ratio, peak, rate(1), rate(2)))
  ::next::
end
EOF
done
echo
echo "# targets of #14: lunshare <= 0.85x bwrap (warm cache), nocache <= 1.2x, lunshare_ns <= 0.9x bwrap_ns,"
echo "# peak RSS <= 1800 KiB, starts/s >= 1.3x bwrap's"
