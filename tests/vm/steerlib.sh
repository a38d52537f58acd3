# shellcheck shell=bash
# Helpers of the steering VM cases (sourced after testlib.sh): the netlink
# client tests/tools/sgnic-nl, built by CMake, and JSON field access.

SGNIC_NL=${SGNIC_NL:-${SGNIC_BUILD_DIR:-$PWD/build}/tests/sgnic-nl}

# The tool is built with ASan; its leak check at exit costs a quarter of a
# short run under TCG, and the unit tests cover the library's memory.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

need_nl() {
	[ -x "$SGNIC_NL" ] || fail "sgnic-nl not found at '$SGNIC_NL': run 'make' first"
}

# nl NS ARGS...: sgnic-nl in namespace NS ("-" for the initial one).
nl() {
	local ns=$1
	shift
	in_ns "$ns" "$SGNIC_NL" "$@"
}

# nl_err NS ARGS...: runs a request that must fail; prints its stderr.
nl_err() {
	local out
	if out=$(nl "$@" 2>&1); then
		fail "sgnic-nl $* succeeded, expected a failure: $out"
	fi
	echo "$out"
}

# jget JSON FILTER: one value, by a jq filter.
jget() { jq -r "$2" <<<"$1"; }

# rule_pkts NS DEV ID DIR: packets counted by a rule in direction rx or tx.
rule_pkts() { jget "$(nl "$1" rule-get "$2" "$3")" ".$4.packets"; }

# udp_send NS DST PORT COUNT [GAP_S [STOPFILE]]: COUNT datagrams of 100
# bytes; with STOPFILE (COUNT 0) it sends until STOPFILE exists, then prints
# how many it sent.
udp_send() {
	in_ns "$1" python3 - "$2" "$3" "$4" "${5:-0}" "${6:-}" <<'PY'
import os, socket, sys, time
dst, port, count, gap, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
while (not os.path.exists(stop)) if stop else sent < count:
    s.sendto(b"x" * 100, (dst, port))
    sent += 1
    if gap:
        time.sleep(gap)
if stop:
    print(sent)
PY
}

# tc_ingress_counters NS DEV: an ingress qdisc with counting filters that
# let everything through: prio 1 counts skb->mark 77 (fw), prio 2+N counts
# UDP destination port PORT for each PORT given.
tc_ingress_counters() {
	local ns=$1 dev=$2 prio=2 port
	shift 2
	modprobe -a sch_ingress cls_fw cls_u32 act_gact
	in_ns "$ns" tc qdisc add dev "$dev" ingress
	in_ns "$ns" tc filter add dev "$dev" ingress protocol ip prio 1 handle 77 fw action continue
	for port in "$@"; do
		in_ns "$ns" tc filter add dev "$dev" ingress protocol ip prio "$prio" u32 \
			match ip protocol 17 0xff match ip dport "$port" 0xffff action continue
		prio=$((prio + 1))
	done
}

# tc_count NS DEV PRIO: packets the ingress filter of that priority counted.
tc_count() {
	in_ns "$1" tc -s filter show dev "$2" ingress prio "$3" |
		sed -n 's/.*Sent [0-9]* bytes \([0-9]*\) pkt.*/\1/p' | head -n 1
}
