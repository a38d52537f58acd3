# shellcheck shell=bash
# Helpers for VM test cases (sourced inside the guest).  A case reads like an
# operator's session: commands, then assertions that print what was expected
# and what came.
set -euo pipefail

SGNIC_KMOD=${SGNIC_KMOD:-}

# Each step says when it began (seconds into the case): where a slow case
# spends its time is in its log.
step() { printf '==> %s  [%ss]\n' "$*" "$SECONDS"; }

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

expect_eq() { # what expected actual
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
	printf '    ok: %s = %s\n' "$1" "$3"
}

expect_match() { # what regex actual
	[[ $3 =~ $2 ]] || fail "$1: expected to match /$2/, got '$3'"
	printf '    ok: %s ~ /%s/\n' "$1" "$2"
}

need_kmod() {
	[ -n "$SGNIC_KMOD" ] && [ -f "$SGNIC_KMOD" ] ||
		fail "sgnic.ko not found at '${SGNIC_KMOD}': run 'make' first"
}

# Exit status 77 makes ctest report the test as skipped (not passed).
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# memory_debug_kernel: true on a kernel whose checkers add per-object memory
# (kmemleak's tracking objects, KASAN's redzones), as make test-debug's does;
# memory budgets are meaningless there.
memory_debug_kernel() {
	[ -e /sys/kernel/debug/kmemleak ] || [[ $(dmesg) == *'KernelAddressSanitizer initialized'* ]]
}

expect_ge() { # what minimum actual
	[ "$3" -ge "$2" ] 2>/dev/null || fail "$1: expected >= $2, got '$3'"
	printf '    ok: %s = %s (>= %s)\n' "$1" "$3" "$2"
}

expect_le() { # what maximum actual
	[ "$3" -le "$2" ] 2>/dev/null || fail "$1: expected <= $2, got '$3'"
	printf '    ok: %s = %s (<= %s)\n' "$1" "$3" "$2"
}

# wait_ready WHAT FILE REGEX: waits (up to 60 s) until a listener started in
# the background wrote a line matching REGEX to FILE, the sign that it has
# subscribed; a loaded debug-kernel guest took 10 s to start one.
wait_ready() {
	local t0
	t0=$(cut -d' ' -f1 /proc/uptime)
	for _ in $(seq 300); do
		grep -Eq "$3" "$2" 2>/dev/null && break
		sleep 0.2
	done
	grep -Eq "$3" "$2" 2>/dev/null || fail "$1 not ready after 60 s: $(head -c 500 "$2" 2>&1)"
	printf '    %s ready after %s s\n' "$1" "$(awk -v t0="$t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime)"
}

# in_ns NS CMD...: runs CMD in network namespace NS ("-" is the initial one).
in_ns() {
	local ns=$1
	shift
	if [ "$ns" = - ]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# sgnic_stat NS DEV NAME: one counter of `ethtool -S DEV`.
sgnic_stat() {
	local v
	v=$(in_ns "$1" ethtool -S "$2" | awk -v n="$3:" '$1 == n { print $2 }')
	[ -n "$v" ] || fail "ethtool -S $2 has no counter '$3'"
	echo "$v"
}

# sgnic_pair_netns [MTU]: loaded module, sgnic0 in netns "a" as 10.10.0.1
# and fd00::1, sgnic1 in netns "b" as 10.10.0.2 and fd00::2, both up.
sgnic_pair_netns() {
	local mtu=${1:-1500}
	ip netns add a
	ip netns add b
	ip link set sgnic0 netns a
	ip link set sgnic1 netns b
	ip -n a link set sgnic0 mtu "$mtu"
	ip -n b link set sgnic1 mtu "$mtu"
	ip -n a addr add 10.10.0.1/24 dev sgnic0
	ip -n b addr add 10.10.0.2/24 dev sgnic1
	ip -n a addr add fd00::1/64 dev sgnic0 nodad
	ip -n b addr add fd00::2/64 dev sgnic1 nodad
	ip -n a link set lo up
	ip -n b link set lo up
	ip -n a link set sgnic0 up
	ip -n b link set sgnic1 up
}

# sgnic_debugfs DEV FILE: path of a debugfs file of DEV.
sgnic_debugfs() { echo "/sys/kernel/debug/sgnic/$1/$2"; }

# sgnic_send_until_tx_error FILE PORT: sends FILE from namespace a to b
# (sgnic_pair_netns) on TCP PORT while sgnic0 refuses its frames, until
# sgnic0 counts a Tx error (up to 60 s); the transfer must not complete.
# Then both ends are stopped and the connection reset.  It waits for the
# error rather than a fixed time: python took 10 s to start in a loaded
# debug-kernel guest, and a fixed 6 s once ended before anything was sent.
sgnic_send_until_tx_error() {
	local net err0 rpid spid
	net=$(cd "$(dirname "${BASH_SOURCE[0]}")/helpers" && pwd)/sgnic_net.py
	err0=$(sgnic_stat a sgnic0 tx_errors)
	ip netns exec b timeout 120 python3 "$net" recv "$2" /tmp/dst.bin &
	rpid=$!
	ip netns exec a timeout 120 python3 "$net" send 10.10.0.2 "$2" "$1" &
	spid=$!
	for _ in $(seq 600); do
		[ "$(sgnic_stat a sgnic0 tx_errors)" -gt "$err0" ] && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$spid" "$rpid" 2>/dev/null || true
	wait "$spid" && fail "the transfer completed although sgnic0 refused its frames"
	wait "$rpid" || true
	ip netns exec a ss -K dst 10.10.0.2 >/dev/null 2>&1 || true
}
