#!/usr/bin/env bash
# Network benchmark, as root, entirely inside a throwaway network+mount namespace with its
# own /run (the machine's interfaces and /run/netns are never touched):
#   1. the walkthrough (netns1, veth1/veth1_peer, two addresses, both up) set up and torn
#      down: `lunshare net up` + `net down` vs the seven `ip` commands (+ `ip netns del`)
#      vs the same through `ip -batch`;
#   2. chains of 1, 10 and 100 hosts (here — h1 — … — hN, a veth pair with a /30 per hop),
#      up + down: lunshare vs an `ip` script vs tests/bench/nl_optimal.c (fewest requests).
# Prints medians (ms) and ratios.   usage: tests/bench/net_bench.sh [RUNS] [CHAIN_SIZES]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${LSH_BENCH_WORLD:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "net_bench: needs root (it makes a throwaway netns)"; exit 2; }
	exec unshare --net --mount env LSH_BENCH_WORLD=1 bash "$0" "$@"
fi
mount -t tmpfs tmpfs /run
RUNS=${1:-11}
SIZES=${2:-"1 10 100"}
L=${LUNSHARE_BIN:-$ROOT/build/lunshare}
W=$(mktemp -d /tmp/lsh-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
cc -O2 -o "$W/nl_optimal" "$ROOT/tests/bench/nl_optimal.c" $(pkg-config --cflags --libs libmnl) -lpthread

now() { date +%s%N; }
# Waits (untimed) until only lo is left: a deleted netns takes its links a moment later.
settle() {
	for _ in $(seq 500); do
		[ "$(ip -o link | wc -l)" = 1 ] && [ -z "$(ls /run/netns 2>/dev/null)" ] && return
		sleep 0.01
	done
	echo "net_bench: the world did not settle" >&2
	exit 1
}
# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# time_it NAME RUNS CMD…: runs CMD RUNS times (settling between), prints the median in ms.
time_it() {
	local runs=$1
	shift
	: >"$W/t"
	for _ in $(seq "$runs"); do
		settle
		local t0 t1
		t0=$(now)
		"$@" >/dev/null
		t1=$(now)
		echo $(((t1 - t0) / 1000)) >>"$W/t"
	done
	settle
	median <"$W/t" | awk '{printf "%.2f", $1/1000}'
}

# ---- 1. the walkthrough ----
walk_lunshare() {
	"$L" net up "$ROOT/docs/examples/walkthrough.lua"
	"$L" net down "$ROOT/docs/examples/walkthrough.lua"
}
walk_ip() {
	ip netns add netns1
	ip link add veth1 type veth peer name veth1_peer
	ip link set veth1_peer netns netns1
	ip addr add 10.0.0.1/24 dev veth1
	ip link set veth1 up
	ip netns exec netns1 ip addr add 10.0.0.2/24 dev veth1_peer
	ip netns exec netns1 ip link set veth1_peer up
	ip netns del netns1
}
cat >"$W/b1" <<'EOF'
netns add netns1
link add veth1 type veth peer name veth1_peer
link set veth1_peer netns netns1
addr add 10.0.0.1/24 dev veth1
link set veth1 up
EOF
cat >"$W/b2" <<'EOF'
addr add 10.0.0.2/24 dev veth1_peer
link set veth1_peer up
EOF
walk_batch() {
	ip -batch "$W/b1"
	ip -n netns1 -batch "$W/b2"
	ip netns del netns1
}
# Check once that each variant really builds a working walkthrough.
for v in lunshare ip; do
	settle
	if [ $v = lunshare ]; then "$L" net up "$ROOT/docs/examples/walkthrough.lua" >/dev/null; else
		ip netns add netns1; ip link add veth1 type veth peer name veth1_peer netns netns1
		ip addr add 10.0.0.1/24 dev veth1; ip link set veth1 up
		ip -n netns1 addr add 10.0.0.2/24 dev veth1_peer; ip -n netns1 link set veth1_peer up; fi
	ping -c1 -W2 10.0.0.2 >/dev/null && ip netns exec netns1 ping -c1 -W2 10.0.0.1 >/dev/null ||
		{ echo "net_bench: the $v walkthrough does not ping"; exit 1; }
	if [ $v = lunshare ]; then "$L" net down "$ROOT/docs/examples/walkthrough.lua" >/dev/null; else ip netns del netns1; fi
done

wl=$(time_it "$RUNS" walk_lunshare)
wi=$(time_it "$RUNS" walk_ip)
wb=$(time_it "$RUNS" walk_batch)
echo "walkthrough up+down (median of $RUNS, ms):"
printf "  lunshare net up+down  %8s\n  ip script (8 cmds)    %8s   %5.1fx lunshare\n  ip -batch             %8s   %5.1fx lunshare\n" \
	"$wl" "$wi" "$(echo "$wi $wl" | awk '{print $1/$2}')" "$wb" "$(echo "$wb $wl" | awk '{print $1/$2}')"

# ---- 2. chains ----
chain_file() { # N -> a topology file
	local n=$1 f="$W/chain$1.lua"
	{
		echo "return { hosts = {"
		for i in $(seq "$n"); do echo "  lsc$i = { lo = false },"; done
		echo "}, links = {"
		for i in $(seq "$n"); do
			local from="" o=$((100 + i / 250)) p=$((i % 250))
			[ "$i" -gt 1 ] && from="host = 'lsc$((i - 1))', "
			echo "  { { ${from}name = 'lsa$i', address = '10.$o.$p.1/30' }, { host = 'lsc$i', name = 'lsb$i', address = '10.$o.$p.2/30' } },"
		done
		echo "} }"
	} >"$f"
	echo "$f"
}
chain_ip_script() { # N -> up and down scripts
	local n=$1
	{
		for i in $(seq "$n"); do
			local ns="" o=$((100 + i / 250)) p=$((i % 250))
			[ "$i" -gt 1 ] && ns="-n lsc$((i - 1)) "
			echo "ip netns add lsc$i"
			if [ "${2:-}" = move ]; then
				# As the iproute2 tutorial does it: make the pair, then move the peer.
				echo "ip ${ns}link add lsa$i type veth peer name lsb$i"
				echo "ip ${ns}link set lsb$i netns lsc$i"
			else
				echo "ip ${ns}link add lsa$i type veth peer name lsb$i netns lsc$i"
			fi
			echo "ip ${ns}addr add 10.$o.$p.1/30 dev lsa$i"
			echo "ip ${ns}link set lsa$i up"
			echo "ip -n lsc$i addr add 10.$o.$p.2/30 dev lsb$i"
			echo "ip -n lsc$i link set lsb$i up"
		done
	} >"$W/up$n${2:-}.sh"
	for i in $(seq "$n"); do echo "ip netns del lsc$i"; done >"$W/down$n.sh"
}
chain_lunshare() { "$L" net up "$1" && "$L" net down "$1"; }
chain_ip() { sh "$W/up$1$2.sh" && sh "$W/down$1.sh"; }
chain_opt() { "$W/nl_optimal" up "$1" && "$W/nl_optimal" down "$1"; }
echo "chains up+down (ms); ip-script makes each peer in its netns, ip-move moves it (tutorial style):"
printf "  %5s  %10s  %10s  %10s  %10s  %8s  %8s  %8s\n" hosts lunshare ip-script ip-move nl_optimal ip/lsh move/lsh lsh/opt
for n in $SIZES; do
	f=$(chain_file "$n")
	chain_ip_script "$n"
	chain_ip_script "$n" move
	runs=$RUNS
	[ "$n" -ge 100 ] && runs=3
	# The far end of the chain answers: the chain is really built.
	settle; "$L" net up "$f" >/dev/null
	last=$((n)); o=$((100 + last / 250)); p=$((last % 250))
	ip netns exec "lsc$n" ip -o -4 addr show "lsb$n" | grep -q "10.$o.$p.2/30" || { echo "chain $n not built"; exit 1; }
	"$L" net down "$f" >/dev/null
	cl=$(time_it "$runs" chain_lunshare "$f")
	ci=$(time_it "$runs" chain_ip "$n" "")
	cm=$(time_it "$runs" chain_ip "$n" move)
	co=$(time_it "$runs" chain_opt "$n")
	printf "  %5s  %10s  %10s  %10s  %10s  %7.1fx  %7.1fx  %7.1fx\n" "$n" "$cl" "$ci" "$cm" "$co" \
		"$(echo "$ci $cl" | awk '{print $1/$2}')" "$(echo "$cm $cl" | awk '{print $1/$2}')" \
		"$(echo "$cl $co" | awk '{print $1/$2}')"
done
