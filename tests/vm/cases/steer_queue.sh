#!/usr/bin/env bash
# Receive queues that steering chooses: a port has one receive queue per CPU
# (sysfs, ethtool -l), each served by that CPU's portal.  The frame manager
# classifies a frame before it takes a buffer: a `queue N` rule delivers it
# on queue N, so it is processed on CPU N whichever CPU sent it (the
# receiving socket's SO_INCOMING_CPU says so); frames without a rule go to
# the queue their flow hashes to (RSS: one CPU for a flow, whichever CPU
# sent it); per-queue counters agree; a queue beyond the receive queues is
# refused.  A mark still reaches the skb.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl

[ "$(nproc)" -eq 2 ] || skip "needs a guest with 2 CPUs, has $(nproc)"

# recv_cpus PORT SPORT N OUT: in netns b, a UDP socket on PORT connected to
# 10.10.0.1:SPORT (only a connected socket records the CPU of each datagram)
# takes N datagrams and writes SO_INCOMING_CPU after each, one per line, to
# OUT; OUT.ready appears once it is bound.
recv_cpus() {
	in_ns b python3 - "$@" <<'PY' &
import socket, sys
port, sport, n, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
SO_INCOMING_CPU = 49
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.0.2", port))
s.connect(("10.10.0.1", sport))
s.settimeout(30)
open(out + ".ready", "w").close()
cpus = []
try:
    for _ in range(n):
        s.recv(2048)
        cpus.append(s.getsockopt(socket.SOL_SOCKET, SO_INCOMING_CPU))
finally:
    with open(out, "w") as f:
        f.write("".join(f"{c}\n" for c in cpus))
PY
}

# send_from CPU PORT SPORT N: N datagrams from 10.10.0.1:SPORT, sent by a
# process pinned to CPU.
send_from() {
	in_ns a taskset -c "$1" python3 - "$2" "$3" "$4" <<'PY'
import socket, sys, time
port, sport, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.0.1", sport))
for _ in range(n):
    s.sendto(b"q" * 64, ("10.10.0.2", port))
    time.sleep(0.002)
PY
}

wait_ready() {
	local i
	for i in $(seq 100); do
		[ -e "$1.ready" ] && return 0
		sleep 0.1
	done
	fail "receiver for $1 did not start"
}

# cpus_seen FILE: "CPU:COUNT ..." of the lines of FILE.
cpus_seen() { sort -n "$1" | uniq -c | awk '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1 }'; }

step "a pair; sgnic1 has one receive queue per CPU"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
expect_eq "sysfs rx queues of sgnic1" "rx-0 rx-1" \
	"$(in_ns b ls /sys/class/net/sgnic1/queues | grep '^rx-' | sort | xargs)"
ch=$(in_ns b ethtool -l sgnic1)
expect_match "ethtool -l: combined channels" "Current hardware settings:.*Combined:[[:space:]]+2" \
	"$(tr '\n' ' ' <<<"$ch")"
expect_match "ethtool -k: receive-hashing" "receive-hashing: on" "$(in_ns b ethtool -k sgnic1)"
in_ns a ping -c 1 -W 2 10.10.0.2 >/dev/null || fail "no connectivity"

step "RX rules on sgnic1: UDP 6000 to queue 0, UDP 6001 to queue 1 (with mark 77), UDP 6002 none"
nl b matcher-new sgnic1 id 1 prio 1 rx-log 4 tx-log 0 ip-proto l4-dport >/dev/null
nl b rule-add sgnic1 1 1 rx ip-proto=17 l4-dport=6000 count queue=0 >/dev/null
nl b rule-add sgnic1 1 2 rx ip-proto=17 l4-dport=6001 count mark=77 queue=1 >/dev/null
err=$(nl_err b rule-add sgnic1 1 3 rx ip-proto=17 l4-dport=6003 queue=2)
expect_match "queue 2 of 2 receive queues" "EINVAL: .*queue index beyond the port's receive queues" "$err"
expect_eq "the refused rule is not there" 2 "$(jget "$(nl b matcher-get sgnic1 1)" .rx.rules)"
tc_ingress_counters b sgnic1 6000 6001 6002

q0=$(sgnic_stat b sgnic1 steer_rxq0)
q1=$(sgnic_stat b sgnic1 steer_rxq1)
c0=$(sgnic_stat b sgnic1 cpu0_rx_packets)
c1=$(sgnic_stat b sgnic1 cpu1_rx_packets)
n=40
flow_cpu=""
for sender in 0 1; do
	step "sender on CPU $sender: $n datagrams each to 6000 (queue 0), 6001 (queue 1), 6002 (no rule)"
	for p in 6000 6001 6002; do
		rm -f "/tmp/cpus.$p" "/tmp/cpus.$p.ready"
		recv_cpus "$p" $((p + 1000)) "$n" "/tmp/cpus.$p"
		wait_ready "/tmp/cpus.$p"
		send_from "$sender" "$p" $((p + 1000)) "$n"
		wait
		expect_eq "datagrams to $p received" "$n" "$(wc -l <"/tmp/cpus.$p")"
	done
	expect_eq "SO_INCOMING_CPU of queue 0's datagrams" "0:$n" "$(cpus_seen /tmp/cpus.6000)"
	expect_eq "SO_INCOMING_CPU of queue 1's datagrams" "1:$n" "$(cpus_seen /tmp/cpus.6001)"
	# Without a rule the flow hash chooses (RSS): one CPU for the whole
	# flow, the same whichever CPU sends it.
	seen=$(cpus_seen /tmp/cpus.6002)
	expect_match "SO_INCOMING_CPU without a rule: one CPU for the flow" "^[01]:$n\$" "$seen"
	expect_eq "the flow's CPU with the sender on CPU $sender" "${flow_cpu:-$seen}" "$seen"
	flow_cpu=$seen
done

step "per-queue counters agree with the rules"
expect_eq "rule 1 (queue 0) packets" $((2 * n)) "$(rule_pkts b sgnic1 1 rx)"
expect_eq "rule 2 (queue 1) packets" $((2 * n)) "$(rule_pkts b sgnic1 2 rx)"
expect_eq "steer_rxq0 grew by rule 1's" $((q0 + 2 * n)) "$(sgnic_stat b sgnic1 steer_rxq0)"
expect_eq "steer_rxq1 grew by rule 2's" $((q1 + 2 * n)) "$(sgnic_stat b sgnic1 steer_rxq1)"
# Each CPU took its queue's 2n datagrams; the flow's CPU the unsteered 2n too.
d0=$(( $(sgnic_stat b sgnic1 cpu0_rx_packets) - c0 ))
d1=$(( $(sgnic_stat b sgnic1 cpu1_rx_packets) - c1 ))
expect_ge "cpu0_rx_packets (queue 0)" $((2 * n)) "$d0"
expect_ge "cpu1_rx_packets (queue 1)" $((2 * n)) "$d1"
expect_ge "cpu${flow_cpu%%:*}_rx_packets (its queue's 2n and the flow's 2n)" $((4 * n)) \
	"$([ "${flow_cpu%%:*}" = 0 ] && echo "$d0" || echo "$d1")"
expect_eq "tc: frames marked 77 (queue 1's)" $((2 * n)) "$(tc_count b sgnic1 1)"
expect_eq "sgnic1 rx_dropped" 0 "$(sgnic_stat b sgnic1 rx_dropped)"

step "TCP steered to queue 1 while the sender runs on CPU 0 (iperf3, 1 s)"
nl b rule-add sgnic1 1 4 rx ip-proto=6 l4-dport=5201 count queue=1 >/dev/null
in_ns b iperf3 -s -D -1 -B 10.10.0.2 --logfile /tmp/iperf-s.log
sleep 0.5
in_ns a taskset -c 0 iperf3 -c 10.10.0.2 -t 1 >/dev/null ||
	fail "iperf3 failed: $(tail -n 3 /tmp/iperf-s.log)"
tcp=$(rule_pkts b sgnic1 4 rx)
expect_ge "rule 4 packets" 100 "$tcp"
expect_eq "steer_rxq1 = rules 2 and 4" $((q1 + 2 * n + tcp)) "$(sgnic_stat b sgnic1 steer_rxq1)"
expect_eq "sgnic1 rx_errors" 0 "$(sgnic_stat b sgnic1 rx_errors)"

step "the module unloads with its rules"
ip netns del a
ip netns del b
rmmod sgnic
