#!/usr/bin/env bash
# The module unloads while iperf3 pushes traffic through it, with buffers in
# flight in every queue, and while received data waits unread in a socket,
# and survives 20 load/traffic/unload cycles.
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

step "received data outlives the module: datagrams queued in a socket, read after rmmod"
# Received frames are page_pool pages: the module's pools must stay until
# the last page comes back, and the data must stay intact.  100 contiguous
# frames and 50 S/G frames (8000 bytes over 2 KiB buffers) wait unread.
insmod "$SGNIC_KMOD"
sgnic_pair_netns 9000
sysctl -qw net.core.rmem_max=16777216
rm -f /tmp/udp-ready /tmp/udp-go /tmp/udp-out
ip netns exec b python3 - >/tmp/udp-out 2>&1 <<'PY' &
import os, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("10.10.0.2", 9000))
open("/tmp/udp-ready", "w").close()
while not os.path.exists("/tmp/udp-go"):
    time.sleep(0.1)
good = bad = 0
while True:
    try:
        data = s.recv(65536, socket.MSG_DONTWAIT)
    except BlockingIOError:
        break
    n = data[0]
    good += data == bytes([n]) * len(data) and len(data) in (1400, 8000)
    bad += not (data == bytes([n]) * len(data) and len(data) in (1400, 8000))
print(good, bad)
PY
upid=$!
for _ in $(seq 100); do [ -e /tmp/udp-ready ] && break; sleep 0.1; done
[ -e /tmp/udp-ready ] || fail "the receiver did not start"
sg0=$(sgnic_stat b sgnic1 rx_sg)
ip netns exec a python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(150):
    size = 1400 if i < 100 else 8000
    s.sendto(bytes([i]) * size, ("10.10.0.2", 9000))
PY
sleep 1
expect_ge "sgnic1 rx_sg: the 50 large datagrams" $((sg0 + 50)) "$(sgnic_stat b sgnic1 rx_sg)"
rmmod sgnic
[ ! -e /sys/module/sgnic ] || fail "sgnic still loaded"
touch /tmp/udp-go
wait "$upid" || fail "the receiver failed: $(cat /tmp/udp-out)"
expect_eq "datagrams read intact after rmmod, and none damaged" "150 0" "$(cat /tmp/udp-out)"
ip netns del a
ip netns del b

step "20 x insmod, ping across, rmmod"
loads0=$(dmesg | grep -c 'sgnic: version .* loaded')
unloads0=$(dmesg | grep -c 'sgnic: unloaded')
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
expect_eq "sgnic lines with 'loaded'" $((loads0 + 20)) "$(dmesg | grep -c 'sgnic: version .* loaded')"
expect_eq "sgnic lines with 'unloaded'" $((unloads0 + 20)) "$(dmesg | grep -c 'sgnic: unloaded')"
