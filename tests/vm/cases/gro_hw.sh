#!/usr/bin/env bash
# Receive-side coalescing (rx-gro-hw): the frame manager hands a TSO
# superframe's segments to the receiver as runs of one S/G frame each, and
# the driver gives the stack GSO skbs as GRO would have built them.  Data
# arrives intact over IPv4 and IPv6, at MTU 1500 and 9000 (over 2 KiB
# buffers); the wire counters still count segments; and coalescing stops
# where it would hide segments: rx-gro-hw off, rx-checksumming off, an XDP
# program.  Steering rules count a coalesced frame's segments one by one.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl
command -v clang >/dev/null || fail "no clang to build the XDP program: run make deps"
net=$(cd "$(dirname "$0")/../helpers" && pwd)/sgnic_net.py
xdp_src=$(cd "$(dirname "$0")/../xdp" && pwd)/xdp_basic.c

# counters NS DEV NAME...: the values of NAME... of DEV, from one read.
counters() {
	local ns=$1 dev=$2
	shift 2
	in_ns "$ns" ethtool -S "$dev" | awk -v names="$*" \
		'BEGIN { n = split(names, want) } { v[$1] = $2 }
		 END { for (i = 1; i <= n; i++) printf "%s%s", v[want[i] ":"], (i < n ? " " : "\n") }'
}

# wire NS DEV DIR: "packets bytes" of DEV in direction DIR (rx or tx).
wire() { counters "$1" "$2" "$3_packets" "$3_bytes"; }

# transfer DST WHAT: 4 MiB over TCP from a to b, byte for byte; sets the
# deltas gro (coalesced frames), segs (segments in them), rx/tx (sgnic1's
# received and sgnic0's sent frames) and rxb/txb (their bytes).
transfer() {
	local g0 s0 r0 t0 rb0 tb0 rpid sent got
	# Start from a quiet pair, and let the connection's last frames arrive
	# before the counts: sgnic1 has received all that sgnic0 sent.
	for _ in $(seq 30); do
		sent=$(wire a sgnic0 tx)
		got=$(wire b sgnic1 rx)
		sleep 0.2
		[ "$sent" = "$(wire a sgnic0 tx)" ] && [ "$got" = "$(wire b sgnic1 rx)" ] && break
	done
	read -r t0 tb0 <<<"$sent"
	read -r r0 rb0 <<<"$got"
	g0=$(sgnic_stat b sgnic1 rx_gro)
	s0=$(sgnic_stat b sgnic1 rx_gro_segs)
	ip netns exec b python3 "$net" recv 5001 /tmp/dst.bin &
	rpid=$!
	ip netns exec a python3 "$net" send "$1" 5001 /tmp/src.bin || fail "$2: send failed"
	wait "$rpid" || fail "$2: receive failed"
	expect_eq "$2: sha256 of 4 MiB" "$(sha256sum </tmp/src.bin)" "$(sha256sum </tmp/dst.bin)"
	for _ in $(seq 30); do
		read -r tx txb <<<"$(wire a sgnic0 tx)"
		read -r rx rxb <<<"$(wire b sgnic1 rx)"
		[ "$rx" = "$tx" ] && [ "$rxb" = "$txb" ] && break
		sleep 0.1
	done
	tx=$((tx - t0))
	txb=$((txb - tb0))
	rx=$((rx - r0))
	rxb=$((rxb - rb0))
	gro=$(($(sgnic_stat b sgnic1 rx_gro) - g0))
	segs=$(($(sgnic_stat b sgnic1 rx_gro_segs) - s0))
}

# coalesced WHAT: the last transfer came in runs of several segments, and
# sgnic1 counted on the wire what sgnic0 sent.
coalesced() {
	expect_ge "$1: coalesced frames" 20 "$gro"
	expect_ge "$1: segments per coalesced frame, at least 2 on average" $((2 * gro)) "$segs"
	# The wire pauses rather than drop: nothing lost on the way.
	expect_eq "sgnic1 rx_errors" 0 "$(sgnic_stat b sgnic1 rx_errors)"
	expect_eq "sgnic1 rx_dropped" 0 "$(sgnic_stat b sgnic1 rx_dropped)"
	expect_eq "sgnic1 rx_nobuf" 0 "$(sgnic_stat b sgnic1 rx_nobuf)"
	expect_eq "$1: sgnic1 rx_packets = sgnic0 tx_packets (segments)" "$tx" "$rx"
	expect_eq "$1: sgnic1 rx_bytes = sgnic0 tx_bytes (segments)" "$txb" "$rxb"
}

step "pair; rx-gro-hw is on by default"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
# No router solicitations every 4 s after link-up among the counted frames.
in_ns a sysctl -qw net.ipv6.conf.sgnic0.router_solicitations=0
expect_match "ethtool -k sgnic1" "rx-gro-hw: on" "$(in_ns b ethtool -k sgnic1)"
head -c $((4 << 20)) /dev/urandom >/tmp/src.bin

step "TCP over IPv4 and IPv6 at MTU 1500: coalesced, intact, segments counted"
transfer 10.10.0.2 IPv4
coalesced IPv4
transfer fd00::2 IPv6
coalesced IPv6
# One run holds what one S/G table of 2 KiB buffers takes: 15 buffers.
max=$(((15 * 2048 - 66) / 1448))
expect_le "IPv6: segments per coalesced frame at most $max on average" $((max * gro)) "$segs"

step "MTU 9000 over 2 KiB buffers"
in_ns a ip link set sgnic0 mtu 9000
in_ns b ip link set sgnic1 mtu 9000
transfer 10.10.0.2 "MTU 9000"
coalesced "MTU 9000"
in_ns a ip link set sgnic0 mtu 1500
in_ns b ip link set sgnic1 mtu 1500

step "rx-gro-hw off: every segment is a frame of its own"
in_ns b ethtool -K sgnic1 rx-gro-hw off
expect_match "ethtool -k sgnic1" "rx-gro-hw: off" "$(in_ns b ethtool -k sgnic1)"
transfer 10.10.0.2 "rx-gro-hw off"
expect_eq "rx-gro-hw off: coalesced frames" 0 "$gro"
expect_eq "rx-gro-hw off: sgnic1 rx_packets = sgnic0 tx_packets" "$tx" "$rx"
in_ns b ethtool -K sgnic1 rx-gro-hw on

step "rx-checksumming off takes rx-gro-hw with it, and back"
in_ns b ethtool -K sgnic1 rx off
expect_match "ethtool -k sgnic1" "rx-gro-hw: off \[requested on\]" "$(in_ns b ethtool -k sgnic1)"
transfer 10.10.0.2 "rx-checksumming off"
expect_eq "rx-checksumming off: coalesced frames" 0 "$gro"
in_ns b ethtool -K sgnic1 rx on
expect_match "ethtool -k sgnic1" "rx-gro-hw: on" "$(in_ns b ethtool -k sgnic1)"

step "an XDP program sees every segment: rx-gro-hw off while it runs"
clang -O2 -g -target bpf -DTARGET_IFINDEX=1 -c "$xdp_src" -o /tmp/xdp_basic.o ||
	fail "clang could not build $xdp_src"
in_ns b ip link set dev sgnic1 xdpdrv obj /tmp/xdp_basic.o sec xdp_pass
expect_match "ethtool -k sgnic1" "rx-gro-hw: off \[requested on\]" "$(in_ns b ethtool -k sgnic1)"
xdp0=$(counters b sgnic1 rx_packets rx_xdp_pass)
transfer 10.10.0.2 "XDP"
expect_eq "XDP: coalesced frames" 0 "$gro"
# Every frame that reached the stack passed the program: both deltas from
# one read of the counters, before and after.
read -r rxp0 pass0 <<<"$xdp0"
read -r rxp1 pass1 <<<"$(counters b sgnic1 rx_packets rx_xdp_pass)"
expect_ge "XDP: frames received" 2000 $((rxp1 - rxp0))
expect_eq "XDP: rx_xdp_pass = rx_packets (every segment seen)" $((rxp1 - rxp0)) $((pass1 - pass0))
in_ns b ip link set dev sgnic1 xdpdrv off
expect_match "ethtool -k sgnic1" "rx-gro-hw: on" "$(in_ns b ethtool -k sgnic1)"
transfer 10.10.0.2 "after XDP"
coalesced "after XDP"

step "RX steering rules count the segments of a coalesced frame, as the wire carried them"
nl b matcher-new sgnic1 id 1 prio 1 rx-log 4 tx-log 0 ipv4-src ip-proto l4-dport >/dev/null
nl b rule-add sgnic1 1 10 rx ipv4-src=10.10.0.1 ip-proto=6 l4-dport=5001 count >/dev/null
transfer 10.10.0.2 "steering"
coalesced "steering"
# Every segment of 4 MiB at an MSS of 1448, and no more than sgnic1
# received; each with its own headers (Ethernet, IPv4, TCP: 54 bytes at
# least), not a run's once.
hits=$(rule_pkts b sgnic1 10 rx)
bytes=$(jget "$(nl b rule-get sgnic1 10)" .rx.bytes)
expect_ge "steering: the rule counted every segment" $(((4 << 20) / 1448)) "$hits"
expect_le "steering: the rule counted frames sgnic1 received" "$rx" "$hits"
expect_ge "steering: the rule's bytes, headers of every segment" $(((4 << 20) + 54 * hits)) "$bytes"
expect_le "steering: the rule's bytes, no more than sgnic1 received" "$rxb" "$bytes"
nl b rules-del sgnic1 10 >/dev/null
nl b matcher-del sgnic1 1 >/dev/null
transfer 10.10.0.2 "rules gone"
coalesced "rules gone"

step "rmmod"
rmmod sgnic
