#!/usr/bin/env bash
# Native XDP on sgnic ports, with small programs built here (clang) and
# attached in driver mode (ip link ... xdpdrv), counted exactly: the links
# carry only what the case sends (IPv6 off, static neighbours).
# XDP_PASS delivers the frames intact, or as the program rewrote them
# (bpf_xdp_adjust_head/tail); XDP_DROP loses them and recycles the buffers;
# xdp-bench (libxdp's dispatcher) drops and detaches on SIGINT; XDP_ABORTED
# and an unknown verdict count as aborted; XDP_TX sends the frames back to
# the peer; XDP_REDIRECT (bpf_redirect) transmits them on another port
# through ndo_xdp_xmit; a redirect to a port that is down is refused by the
# core, one to a port without carrier by ndo_xdp_xmit, each counted, leaking
# nothing.  rx_packets/rx_bytes count only what reached the
# stack; frames XDP sends count in the sender's tx_packets/tx_bytes.  A
# program without frags support is refused while MTU + 18 exceeds
# rx-buf-len, and so are the MTU, rx-buf-len and devlink rx_buf_len changes
# that would make it so (boundaries exact), each leaving everything as it
# was; a frags program sees S/G frames.  rmmod under a flood with programs
# attached is clean (the harness reads the kernel log).
. "$(dirname "$0")/../testlib.sh"
need_kmod
for tool in clang xdp-bench devlink jq; do
	command -v "$tool" >/dev/null || fail "$tool not installed: run make deps"
done

# ---- the XDP programs: one object, one program per section ----
progs=$(cd "$(dirname "$0")/../xdp" && pwd)/xdp_basic.c

# ---- raw frames through AF_PACKET ----
FRAMES=$(cd "$(dirname "$0")/../helpers" && pwd)/xdp_frames.py

# ---- helpers ----
declare -A ST

# snap KEY NS DEV: the port totals of one `ethtool -S DEV` as ST[KEY.name].
snap() {
	local n v out
	out=$(in_ns "$2" ethtool -S "$3") || fail "ethtool -S $3 failed"
	while read -r n v; do
		[[ $n == cpu[0-9]* ]] || ST[$1.${n%:}]=$v
	done <<<"$out"
	[ -n "${ST[$1.rx_packets]:-}" ] || fail "no ethtool -S counters for $3"
}

# d KEY0 KEY1 NAME: how much counter NAME grew from snapshot KEY0 to KEY1.
d() {
	if [ -z "${ST[$1.$3]:-}" ] || [ -z "${ST[$2.$3]:-}" ]; then
		fail "ethtool -S has no counter '$3'"
	fi
	echo $((ST[$2.$3] - ST[$1.$3]))
}

# send_frames NS DEV DST N [flood]: sets SENT_BYTES.
send_frames() {
	local out mx
	mx=$(($(in_ns "$1" cat "/sys/class/net/$2/mtu") + 14))
	out=$(in_ns "$1" python3 -S "$FRAMES" send "$2" "$3" "$4" "$mx" "${@:5}" 2>&1) ||
		fail "sending frames on $2: $out"
	[[ $out =~ ^sent=$4\ bytes=([0-9]+)$ ]] || fail "sender on $2: $out"
	SENT_BYTES=${BASH_REMATCH[1]}
}

# start_capture NS DEV N MODE SRC DST MAX: a receiver in the background.
start_capture() {
	rm -f /tmp/cap.out
	in_ns "$1" python3 -S "$FRAMES" recv "$2" "$3" 30 "$4" "$5" "$6" "$7" >/tmp/cap.out 2>&1 &
	CAP_PID=$!
	wait_ready "receiver on $2" /tmp/cap.out '^capturing'
}

# expect_capture WHAT N: the receiver got each of the N frames once, intact.
expect_capture() {
	wait "$CAP_PID" || fail "receiver failed: $(cat /tmp/cap.out)"
	[ "$(sed -n 2p /tmp/cap.out)" = "frames=$2 bad=0 dup=0" ] ||
		fail "$1: expected frames=$2 bad=0 dup=0, got: $(tail -n +2 /tmp/cap.out | tr '\n' ' ')"
	printf '    ok: %s: %s\n' "$1" "$(tail -n +2 /tmp/cap.out | tr '\n' ' ')"
}

# attach NS DEV SECTION [-force]: native mode (-force: replacing a program).
attach() {
	local out
	out=$(ip "${@:4}" -n "$1" link set dev "$2" xdpdrv obj /tmp/xdp_progs.o sec "$3" 2>&1) ||
		fail "attaching $3 to $2: $out"
}

# prog NS DEV: "ID NAME MODE" of the XDP program attached to DEV, or "none".
prog() {
	ip -j -n "$1" link show dev "$2" |
		jq -r '.[0].xdp // {} | if .prog then "\(.prog.id) \(.prog.name) \(.mode)" else "none" end'
}

ping_ok() { # NS DST [ARGS]: N pings must all come back
	local out
	out=$(in_ns "$1" ping -c 3 -i 0.2 -W 2 "${@:3}" "$2" 2>&1) || fail "ping $2 from $1 failed: $out"
	expect_match "ping $2 from $1" " 0% packet loss" "$out"
}

rxbuf() { in_ns "$1" ethtool -g "$2" | awk '/RX Buf Len:/ { v = $4 } END { print v }'; }
mtu() { in_ns "$1" cat "/sys/class/net/$2/mtu"; }

# expect_percpu_sums NS DEV: each XDP counter of DEV is the sum of its cpuN_ copies.
expect_percpu_sums() {
	local name total sum copies cpus
	cpus=$(($(sed 's/.*-//' /sys/devices/system/cpu/possible) + 1))
	# NAME TOTAL SUM COPIES, one line per XDP counter
	while read -r name total sum copies; do
		expect_eq "$2 $name, sum of its cpuN_ copies" "$total ($cpus copies)" "$sum ($copies copies)"
	done <<<"$(in_ns "$1" ethtool -S "$2" | awk '
		{ n = substr($1, 1, length($1) - 1) }
		n ~ /^cpu[0-9]+_/ { n = substr(n, index(n, "_") + 1); s[n] += $2; c[n]++; next }
		{ t[n] = $2 }
		END {
			split("rx_xdp_pass rx_xdp_drop rx_xdp_tx rx_xdp_tx_errors rx_xdp_redirect " \
			      "rx_xdp_redirect_errors rx_xdp_aborted tx_xdp_xmit tx_xdp_xmit_errors", want)
			for (i = 1; i in want; i++)
				print want[i], (want[i] in t ? t[want[i]] : "missing"), s[want[i]] + 0, c[want[i]] + 0
		}')"
}

# ---- the case ----
step "insmod pairs=2: sgnic0<->sgnic1, sgnic2<->sgnic3; netns a (sgnic0), b (sgnic1, sgnic2), c (sgnic3)"
insmod "$SGNIC_KMOD" pairs=2
expect_eq "iflink of sgnic2 (its peer sgnic3)" "$(cat /sys/class/net/sgnic3/ifindex)" \
	"$(cat /sys/class/net/sgnic2/iflink)"
for ns in a b c; do ip netns add $ns; done
while read -r ns dev; do
	ip link set "$dev" netns "$ns"
	in_ns "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
	ip -n "$ns" link set "$dev" up
done <<<$'a sgnic0\nb sgnic1\nb sgnic2\nc sgnic3'

ip -n a link set lo up
ip -n b link set lo up
ip -n a addr add 10.10.0.1/24 dev sgnic0
ip -n b addr add 10.10.0.2/24 dev sgnic1
MAC0=$(in_ns a cat /sys/class/net/sgnic0/address)
MAC1=$(in_ns b cat /sys/class/net/sgnic1/address)
ip -n a neigh replace 10.10.0.2 lladdr "$MAC1" dev sgnic0 nud permanent
ip -n b neigh replace 10.10.0.1 lladdr "$MAC0" dev sgnic1 nud permanent
IF2=$(in_ns b cat /sys/class/net/sgnic2/ifindex)
clang -O2 -g -target bpf -DTARGET_IFINDEX="$IF2" -c "$progs" -o /tmp/xdp_progs.o &
cc=$!
expect_match "carrier of sgnic3" "LOWER_UP" "$(ip -n c link show sgnic3)"
ping_ok a 10.10.0.2
snap q0 b sgnic1
sleep 1
snap q1 b sgnic1
expect_eq "sgnic1 rx_packets in 1 s of a quiet link (nothing but ours on the wire)" 0 "$(d q0 q1 rx_packets)"
expect_eq "sgnic1 xdp counters without a program" "0 0 0 0 0" \
	"${ST[q1.rx_xdp_pass]} ${ST[q1.rx_xdp_drop]} ${ST[q1.rx_xdp_tx]} ${ST[q1.rx_xdp_redirect]} ${ST[q1.rx_xdp_aborted]}"
wait "$cc" || fail "clang could not build the XDP programs"

step "XDP_PASS in native mode: pings and 100 raw frames arrive intact, counted once each"
attach b sgnic1 xdp_pass
expect_match "program on sgnic1 (mode 1 = driver)" "^[0-9]+ prog_pass 1$" "$(prog b sgnic1)"
expect_match "ip link: native XDP" " xdp " "$(ip -n b link show sgnic1)"
snap p0 b sgnic1
ping_ok a 10.10.0.2
snap p1 b sgnic1
expect_eq "sgnic1 rx_xdp_pass (3 echo requests)" 3 "$(d p0 p1 rx_xdp_pass)"
expect_eq "sgnic1 rx_packets (3 echo requests)" 3 "$(d p0 p1 rx_packets)"
expect_eq "sgnic1 tx_packets (3 replies)" 3 "$(d p0 p1 tx_packets)"
start_capture b sgnic1 100 plain "$MAC0" "$MAC1" 1514
send_frames a sgnic0 "$MAC1" 100
expect_capture "frames at sgnic1" 100
snap p2 b sgnic1
expect_eq "sgnic1 rx_xdp_pass" 100 "$(d p1 p2 rx_xdp_pass)"
expect_eq "sgnic1 rx_packets" 100 "$(d p1 p2 rx_packets)"
expect_eq "sgnic1 rx_bytes (what was sent)" "$SENT_BYTES" "$(d p1 p2 rx_bytes)"
expect_eq "sgnic1 rx_xdp_drop, _tx, _redirect, _aborted" "0 0 0 0" \
	"$(d p0 p2 rx_xdp_drop) $(d p0 p2 rx_xdp_tx) $(d p0 p2 rx_xdp_redirect) $(d p0 p2 rx_xdp_aborted)"

step "a program replaced in place (ip -force): bpf_xdp_adjust_head(-32) and _tail(+16) reach the stack"
id_pass=$(prog b sgnic1 | cut -d' ' -f1)
attach b sgnic1 xdp_mangle -force
expect_match "program on sgnic1" "^[0-9]+ prog_mangle 1$" "$(prog b sgnic1)"
[ "$(prog b sgnic1 | cut -d' ' -f1)" != "$id_pass" ] || fail "the program id did not change"
start_capture b sgnic1 100 mangle "$MAC0" "$MAC1" 1514
send_frames a sgnic0 "$MAC1" 100
expect_capture "rewritten frames at sgnic1" 100
snap m1 b sgnic1
expect_eq "sgnic1 rx_xdp_aborted (an adjust failed: no headroom/tailroom?)" 0 "$(d p2 m1 rx_xdp_aborted)"
expect_eq "sgnic1 rx_xdp_pass" 100 "$(d p2 m1 rx_xdp_pass)"
expect_eq "sgnic1 rx_packets" 100 "$(d p2 m1 rx_packets)"

step "XDP_DROP: pings are lost, 600 frames (more than the pool holds) dropped and recycled"
attach b sgnic1 xdp_drop -force
snap d0 b sgnic1
out=$(in_ns a ping -c 3 -i 0.2 -W 1 10.10.0.2 2>&1) && fail "ping passed an XDP_DROP program: $out"
expect_match "ping through XDP_DROP" "3 packets transmitted, 0 received" "$out"
send_frames a sgnic0 "$MAC1" 600
snap d1 b sgnic1
expect_eq "sgnic1 rx_xdp_drop (3 echo requests + 600 frames)" 603 "$(d d0 d1 rx_xdp_drop)"
expect_eq "sgnic1 rx_packets" 0 "$(d d0 d1 rx_packets)"
expect_eq "sgnic1 rx_bytes" 0 "$(d d0 d1 rx_bytes)"
expect_eq "sgnic1 tx_packets (no replies)" 0 "$(d d0 d1 tx_packets)"
expect_eq "sgnic1 rx_nobuf (dropped buffers back in the pool)" 0 "$(d d0 d1 rx_nobuf)"
ip -n b link set dev sgnic1 xdpdrv off
expect_eq "program on sgnic1 after detach" none "$(prog b sgnic1)"
ping_ok a 10.10.0.2

step "XDP_PACKET_HEADROOM: a program can push 192 bytes in front of a frame"
attach b sgnic1 xdp_headroom
snap h0 b sgnic1
send_frames a sgnic0 "$MAC1" 20
snap h1 b sgnic1
expect_eq "sgnic1 rx_xdp_drop (each push of 192 bytes succeeded)" 20 "$(d h0 h1 rx_xdp_drop)"
expect_eq "sgnic1 rx_xdp_pass (no push failed)" 0 "$(d h0 h1 rx_xdp_pass)"
ip -n b link set dev sgnic1 xdpdrv off

step "xdp-bench drop (libxdp) on sgnic1: drops while it runs, detaches on SIGINT"
# ip netns exec mounts its own /sys: bpffs there lets libxdp use its dispatcher.
ip netns exec b sh -c 'mount -t bpf bpf /sys/fs/bpf && exec timeout -s INT 60 xdp-bench drop -m native -i 1 sgnic1' \
	>/tmp/bench.log 2>&1 &
bench=$!
for _ in $(seq 200); do
	[ "$(prog b sgnic1)" != none ] && break
	kill -0 "$bench" 2>/dev/null || break
	sleep 0.1
done
expect_match "program xdp-bench attached to sgnic1 ($(head -c 300 /tmp/bench.log))" \
	"^[0-9]+ [a-z_]+ 1$" "$(prog b sgnic1)"
snap x0 b sgnic1
out=$(in_ns a ping -c 3 -i 0.2 -W 1 10.10.0.2 2>&1) && fail "ping passed xdp-bench drop: $out"
snap x1 b sgnic1
expect_eq "sgnic1 rx_xdp_drop under xdp-bench" 3 "$(d x0 x1 rx_xdp_drop)"
expect_eq "sgnic1 rx_packets under xdp-bench" 0 "$(d x0 x1 rx_packets)"
kill -INT "$bench"
wait "$bench" || fail "xdp-bench exited with $?: $(cat /tmp/bench.log)"
expect_match "xdp-bench saw the driver" "driver sgnic" "$(cat /tmp/bench.log)"
expect_eq "program on sgnic1 after xdp-bench" none "$(prog b sgnic1)"
ping_ok a 10.10.0.2

step "XDP_ABORTED and an unknown verdict (42): counted as aborted, frames gone"
attach b sgnic1 xdp_aborted
snap a0 b sgnic1
send_frames a sgnic0 "$MAC1" 50
snap a1 b sgnic1
attach b sgnic1 xdp_bogus -force
send_frames a sgnic0 "$MAC1" 50
snap a2 b sgnic1
expect_eq "sgnic1 rx_xdp_aborted (XDP_ABORTED)" 50 "$(d a0 a1 rx_xdp_aborted)"
expect_eq "sgnic1 rx_xdp_aborted (verdict 42)" 50 "$(d a1 a2 rx_xdp_aborted)"
expect_eq "sgnic1 rx_packets" 0 "$(d a0 a2 rx_packets)"
expect_eq "sgnic1 rx_xdp_drop, _pass, _tx, _redirect" "0 0 0 0" \
	"$(d a0 a2 rx_xdp_drop) $(d a0 a2 rx_xdp_pass) $(d a0 a2 rx_xdp_tx) $(d a0 a2 rx_xdp_redirect)"
expect_eq "sgnic1 rx_nobuf" 0 "$(d a0 a2 rx_nobuf)"
expect_match "kernel log: the unknown verdict reported (bpf_warn_invalid_xdp_action)" \
	"Illegal XDP return value 42 on prog prog_bogus .* dev sgnic1" "$(dmesg)"

step "XDP_TX on sgnic1: 600 frames come back to sgnic0 intact (MACs swapped)"
attach b sgnic1 xdp_tx -force
snap t0 b sgnic1
snap u0 a sgnic0
start_capture a sgnic0 600 plain "$MAC1" "$MAC0" 1514
send_frames a sgnic0 "$MAC1" 600
expect_capture "frames back at sgnic0" 600
snap t1 b sgnic1
snap u1 a sgnic0
expect_eq "sgnic1 rx_xdp_tx" 600 "$(d t0 t1 rx_xdp_tx)"
expect_eq "sgnic1 rx_xdp_tx_errors" 0 "$(d t0 t1 rx_xdp_tx_errors)"
expect_eq "sgnic1 tx_packets" 600 "$(d t0 t1 tx_packets)"
expect_eq "sgnic1 tx_bytes" "$SENT_BYTES" "$(d t0 t1 tx_bytes)"
expect_eq "sgnic1 rx_packets" 0 "$(d t0 t1 rx_packets)"
expect_eq "sgnic1 rx_nobuf" 0 "$(d t0 t1 rx_nobuf)"
expect_eq "sgnic0 rx_packets" 600 "$(d u0 u1 rx_packets)"
expect_eq "sgnic0 rx_bytes" "$SENT_BYTES" "$(d u0 u1 rx_bytes)"

step "XDP_REDIRECT (bpf_redirect) sgnic1 -> sgnic2 (no program on sgnic2): 600 frames arrive at sgnic3"
attach b sgnic1 xdp_redirect -force
snap r0 b sgnic1
snap s0 b sgnic2
snap v0 c sgnic3
start_capture c sgnic3 600 plain "$MAC0" "$MAC1" 1514
send_frames a sgnic0 "$MAC1" 600
expect_capture "frames at sgnic3" 600
snap r1 b sgnic1
snap s1 b sgnic2
snap v1 c sgnic3
expect_eq "sgnic1 rx_xdp_redirect" 600 "$(d r0 r1 rx_xdp_redirect)"
expect_eq "sgnic1 rx_packets, tx_packets" "0 0" "$(d r0 r1 rx_packets) $(d r0 r1 tx_packets)"
expect_eq "sgnic1 rx_nobuf" 0 "$(d r0 r1 rx_nobuf)"
expect_eq "sgnic2 tx_xdp_xmit" 600 "$(d s0 s1 tx_xdp_xmit)"
expect_eq "sgnic2 tx_xdp_xmit_errors" 0 "$(d s0 s1 tx_xdp_xmit_errors)"
expect_eq "sgnic2 tx_packets" 600 "$(d s0 s1 tx_packets)"
expect_eq "sgnic2 tx_bytes" "$SENT_BYTES" "$(d s0 s1 tx_bytes)"
expect_eq "sgnic3 rx_packets" 600 "$(d v0 v1 rx_packets)"
expect_eq "sgnic3 rx_bytes" "$SENT_BYTES" "$(d v0 v1 rx_bytes)"

step "XDP_REDIRECT to sgnic2 while it is down: 600 frames lost, no buffer leaked"
ip -n b link set sgnic2 down
snap r4 b sgnic1
snap s4 b sgnic2
snap v4 c sgnic3
send_frames a sgnic0 "$MAC1" 600
snap r5 b sgnic1
snap s5 b sgnic2
snap v5 c sgnic3
expect_eq "sgnic1 rx_xdp_redirect_errors (the core refused them)" 600 "$(d r4 r5 rx_xdp_redirect_errors)"
expect_eq "sgnic1 rx_xdp_redirect, rx_packets" "0 0" "$(d r4 r5 rx_xdp_redirect) $(d r4 r5 rx_packets)"
expect_eq "sgnic1 rx_nobuf (failed redirects recycled)" 0 "$(d r4 r5 rx_nobuf)"
expect_eq "sgnic2 tx_xdp_xmit, _errors, tx_packets" "0 0 0" \
	"$(d s4 s5 tx_xdp_xmit) $(d s4 s5 tx_xdp_xmit_errors) $(d s4 s5 tx_packets)"
expect_eq "sgnic3 rx_packets" 0 "$(d v4 v5 rx_packets)"
ip -n b link set sgnic2 up

step "XDP_REDIRECT to sgnic2 without carrier (sgnic3 down): ndo_xdp_xmit refuses 600 frames, counted"
ip -n c link set sgnic3 down
snap r6 b sgnic1
snap s6 b sgnic2
send_frames a sgnic0 "$MAC1" 600
snap r7 b sgnic1
snap s7 b sgnic2
expect_eq "sgnic1 rx_xdp_redirect (queued for sgnic2)" 600 "$(d r6 r7 rx_xdp_redirect)"
expect_eq "sgnic1 rx_nobuf (refused frames freed, the pool refilled)" 0 "$(d r6 r7 rx_nobuf)"
expect_eq "sgnic2 tx_xdp_xmit_errors" 600 "$(d s6 s7 tx_xdp_xmit_errors)"
expect_eq "sgnic2 tx_xdp_xmit, tx_packets" "0 0" "$(d s6 s7 tx_xdp_xmit) $(d s6 s7 tx_packets)"
ip -n c link set sgnic3 up

step "a program without frags refuses what would make sgnic1's frames S/G (MTU + 18 > rx-buf-len)"
attach b sgnic1 xdp_pass -force
pid=$(prog b sgnic1)
ip -n b link set dev sgnic1 mtu 2030 || fail "MTU 2030 (2030 + 18 = 2048) refused"
expect_eq "MTU of sgnic1" 2030 "$(mtu b sgnic1)"
if out=$(ip -n b link set dev sgnic1 mtu 2031 2>&1); then fail "MTU 2031 accepted (2031 + 18 > 2048)"; fi
expect_eq "MTU of sgnic1 after the refusal" 2030 "$(mtu b sgnic1)"
ip -n b link set dev sgnic1 mtu 1500
if out=$(ip -n b link set dev sgnic1 mtu 9000 2>&1); then fail "MTU 9000 accepted with a non-frags program"; fi
# ndo_change_mtu gets no extack: ip says EINVAL, the kernel log says why.
printf '    refused: %s\n' "$out"
expect_match "kernel log: MTU 9000 refused because of the XDP program" \
	"sgnic1: MTU 9000 refused.*XDP" "$(dmesg | tail -n 5)"
expect_eq "MTU of sgnic1 after the refusal" 1500 "$(mtu b sgnic1)"
expect_eq "program on sgnic1" "$pid" "$(prog b sgnic1)"
in_ns b ethtool -G sgnic1 rx-buf-len 1518 || fail "rx-buf-len 1518 (= 1500 + 18) refused"
expect_eq "rx-buf-len of sgnic1" 1518 "$(rxbuf b sgnic1)"
for len in 1517 1024; do
	if out=$(in_ns b ethtool -G sgnic1 rx-buf-len $len 2>&1); then
		fail "rx-buf-len $len accepted with MTU 1500 (1500 + 18 > $len) and a non-frags program"
	fi
	expect_match "rx-buf-len $len refused, naming XDP" "XDP" "$out"
	expect_eq "rx-buf-len of sgnic1 after refusing $len" 1518 "$(rxbuf b sgnic1)"
done
in_ns b ethtool -G sgnic1 rx-buf-len 2048
param() { devlink -j dev param show platform/sgnic name rx_buf_len | jq -r '.param["platform/sgnic"][0].values[0].value'; }
param0=$(param)
if out=$(devlink dev param set platform/sgnic name rx_buf_len value 1024 cmode runtime 2>&1); then
	fail "devlink rx_buf_len 1024 accepted with a non-frags program on sgnic1"
fi
expect_match "devlink rx_buf_len 1024 refused, naming XDP" "XDP" "$out"
expect_eq "rx-buf-len of sgnic0..3 and the param after the refusal" "2048 2048 2048 2048 $param0" \
	"$(rxbuf a sgnic0) $(rxbuf b sgnic1) $(rxbuf b sgnic2) $(rxbuf c sgnic3) $(param)"
expect_eq "program on sgnic1" "$pid" "$(prog b sgnic1)"
expect_eq "MTU of sgnic1" 1500 "$(mtu b sgnic1)"
ping_ok a 10.10.0.2

step "MTU 9000: a program without frags is refused, one with frags (xdp.frags) sees S/G frames"
ip -n b link set dev sgnic1 xdpdrv off
ip -n b link set dev sgnic1 mtu 9000
ip -n a link set dev sgnic0 mtu 9000
if out=$(ip -n b link set dev sgnic1 xdpdrv obj /tmp/xdp_progs.o sec xdp_pass 2>&1); then
	fail "a non-frags program attached at MTU 9000 with rx-buf-len 2048"
fi
expect_match "attach refused, naming the MTU" "[Mm][Tt][Uu]" "$out"
printf '    refused: %s\n' "$(grep -v '^libbpf' <<<"$out" | tr '\n' ' ')"
expect_eq "program on sgnic1 after the refusal" none "$(prog b sgnic1)"
expect_eq "MTU of sgnic1" 9000 "$(mtu b sgnic1)"
attach b sgnic1 xdp.frags
expect_match "program on sgnic1" "^[0-9]+ prog_frags 1$" "$(prog b sgnic1)"
pid=$(prog b sgnic1)
snap f0 b sgnic1
ping_ok a 10.10.0.2 -s 8000
snap f1 b sgnic1
expect_eq "sgnic1 rx_xdp_pass (3 echo requests of 8042 bytes)" 3 "$(d f0 f1 rx_xdp_pass)"
expect_eq "sgnic1 rx_packets" 3 "$(d f0 f1 rx_packets)"
send_frames a sgnic0 "$MAC1" 100
snap f2 b sgnic1
expect_eq "sgnic1 rx_xdp_drop (100 frames, 20 of 9014 bytes)" 100 "$(d f1 f2 rx_xdp_drop)"
expect_eq "sgnic1 rx_packets" 0 "$(d f1 f2 rx_packets)"
expect_eq "sgnic1 rx_nobuf" 0 "$(d f1 f2 rx_nobuf)"
if out=$(ip -force -n b link set dev sgnic1 xdpdrv obj /tmp/xdp_progs.o sec xdp_pass 2>&1); then
	fail "a non-frags program replaced the frags one at MTU 9000"
fi
expect_eq "program on sgnic1 after the refused replacement" "$pid" "$(prog b sgnic1)"
in_ns b ethtool -G sgnic1 rx-buf-len 1024 || fail "rx-buf-len 1024 refused with a frags program"
ping_ok a 10.10.0.2 -s 8000
in_ns b ethtool -G sgnic1 rx-buf-len 2048

step "per-CPU copies add up"
expect_percpu_sums b sgnic1
expect_percpu_sums b sgnic2

step "rmmod while sgnic1 redirects to sgnic2 and sgnic3 bounces it back (XDP_TX), under a flood"
ip -n b link set dev sgnic1 xdpdrv off
ip -n b link set dev sgnic1 mtu 1500
ip -n a link set dev sgnic0 mtu 1500
attach b sgnic1 xdp_redirect
attach c sgnic3 xdp_tx
snap z0 c sgnic3
ip netns exec a timeout 120 python3 -S "$FRAMES" send sgnic0 "$MAC1" 10000000 1514 flood >/dev/null 2>&1 &
flood=$!
for _ in $(seq 300); do
	snap z1 c sgnic3
	[ "$(d z0 z1 rx_xdp_tx)" -ge 1000 ] && break
	sleep 0.1
done
expect_ge "sgnic3 rx_xdp_tx during the flood" 1000 "$(d z0 z1 rx_xdp_tx)"
kill -0 "$flood" 2>/dev/null || fail "the flood ended before rmmod"
timeout 60 rmmod sgnic || fail "rmmod failed or hung (status $?)"
[ ! -e /sys/module/sgnic ] || fail "sgnic still loaded"
kill "$flood" 2>/dev/null || true
wait "$flood" || true
