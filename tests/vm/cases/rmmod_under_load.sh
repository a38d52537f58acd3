#!/usr/bin/env bash
# The module unloads while iperf3 pushes traffic through it, with buffers in
# flight in every queue, and survives 20 load/traffic/unload cycles.
. "$(dirname "$0")/../testlib.sh"
need_kmod

step "iperf3 across the pair, then rmmod in the middle of it"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
ip netns exec b iperf3 -s -D -1 -B 10.10.0.2 --logfile /tmp/iperf-s.log
sleep 0.5
ip netns exec a iperf3 -c 10.10.0.2 -t 30 >/tmp/iperf-c.log 2>&1 &
ipid=$!
sleep 4
tx=$(sgnic_stat a sgnic0 tx_packets)
expect_ge "sgnic0 tx_packets while iperf3 runs" 1000 "$tx"
rmmod sgnic
[ ! -e /sys/module/sgnic ] || fail "sgnic still loaded"
ip netns exec a ip link show sgnic0 >/dev/null 2>&1 && fail "sgnic0 still exists"
kill "$ipid" 2>/dev/null || true
wait "$ipid" || true
ip netns del a
ip netns del b

step "20 x insmod, ping across, rmmod"
for i in $(seq 1 20); do
	insmod "$SGNIC_KMOD"
	ip addr add 10.20.0.1/24 dev sgnic0
	ip link set sgnic0 up
	ip link set sgnic1 up
	# Without namespaces the frame leaves sgnic0 and is received by sgnic1:
	# count it there.
	before=$(sgnic_stat - sgnic1 rx_packets)
	ping -c 1 -W 1 -I sgnic0 10.20.0.2 >/dev/null 2>&1 || true
	after=$(sgnic_stat - sgnic1 rx_packets)
	[ "$after" -gt "$before" ] || fail "cycle $i: nothing reached sgnic1"
	rmmod sgnic
	[ ! -e /sys/module/sgnic ] || fail "cycle $i: sgnic still loaded"
done
echo "    ok: 20 cycles, each with frames received by sgnic1"
expect_eq "sgnic lines with 'loaded'" 21 "$(dmesg | grep -c 'sgnic: version .* loaded')"
expect_eq "sgnic lines with 'unloaded'" 21 "$(dmesg | grep -c 'sgnic: unloaded')"
