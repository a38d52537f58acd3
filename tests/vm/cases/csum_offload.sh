#!/usr/bin/env bash
# Tx checksum offload: the frame manager completes TCP/UDP checksums over
# IPv4 and IPv6, and what the receiver sees on the wire carries valid ones
# (checked independently from an AF_PACKET capture).  Its Rx parser marks
# verified frames, and with rx checksumming off the stack verifies them.
. "$(dirname "$0")/../testlib.sh"
need_kmod
net=$(cd "$(dirname "$0")/../helpers" && pwd)/sgnic_net.py

tcp_udp_traffic() {
	ip netns exec b python3 "$net" recv 5001 /tmp/dst.bin &
	local rpid=$!
	sleep 1
	ip netns exec a python3 "$net" send 10.10.0.2 5001 /tmp/src.bin
	wait $rpid
	expect_eq "sha256 over TCP" "$(sha256sum </tmp/src.bin)" "$(sha256sum </tmp/dst.bin)"
	ip netns exec a python3 "$net" udp-send 10.10.0.2 6000 60 1200
	ip netns exec a python3 "$net" udp-send fd00::2 6000 60 1200
}

# capture_check WHAT: the capture of sgnic1 saw TCP and UDP, none bad.
capture_check() {
	touch /tmp/capture.stop
	wait "$cpid" || fail "capture failed: $(cat /tmp/capture.err)"
	grep -v "^capturing" /tmp/capture.err >&2 || true
	rm -f /tmp/capture.stop
	local res
	res=$(cat /tmp/capture.txt)
	echo "    capture: $res"
	expect_eq "$1: bad checksums" 0 "$(sed -n 's/.*bad=\([0-9]*\).*/\1/p' <<<"$res")"
	expect_ge "$1: TCP frames checked" 50 "$(sed -n 's/.*tcp=\([0-9]*\).*/\1/p' <<<"$res")"
	# 60 IPv4 and 60 IPv6 datagrams were sent; a slow capture may miss a few.
	expect_ge "$1: UDP frames checked" 100 "$(sed -n 's/.*udp=\([0-9]*\).*/\1/p' <<<"$res")"
}

step "pair; offloads on, GRO off on sgnic1 so the capture sees wire frames"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
ip netns exec b ethtool -K sgnic1 gro off
expect_match "ethtool -k sgnic0" "tx-checksum-ip-generic: off|tx-checksum-ipv4: on" "$(ip netns exec a ethtool -k sgnic0)"
expect_match "ethtool -k sgnic1" "rx-checksumming: on" "$(ip netns exec b ethtool -k sgnic1)"
head -c $((2 << 20)) /dev/urandom >/tmp/src.bin

step "Tx offload: checksums completed by the frame manager are valid on the wire"
ok0=$(sgnic_stat b sgnic1 rx_csum_ok)
ip netns exec b python3 "$net" capture sgnic1 100000 60 /tmp/capture.stop >/tmp/capture.txt 2>/tmp/capture.err &
cpid=$!
wait_ready capture /tmp/capture.err "^capturing"
tcp_udp_traffic
capture_check "offloaded"
expect_ge "sgnic1 rx_csum_ok grew (the Rx parser verified them)" $((ok0 + 1000)) "$(sgnic_stat b sgnic1 rx_csum_ok)"

step "rx checksumming off on sgnic1: the stack verifies, nothing is marked"
ip netns exec b ethtool -K sgnic1 rx off
ok1=$(sgnic_stat b sgnic1 rx_csum_ok)
incsum0=$(ip netns exec b awk '/^Tcp:/ && $NF ~ /^[0-9]+$/ { print $NF }' /proc/net/snmp)
tcp_udp_traffic
expect_eq "sgnic1 rx_csum_ok unchanged" "$ok1" "$(sgnic_stat b sgnic1 rx_csum_ok)"
expect_eq "Tcp InCsumErrors in b" "$incsum0" "$(ip netns exec b awk '/^Tcp:/ && $NF ~ /^[0-9]+$/ { print $NF }' /proc/net/snmp)"
ip netns exec b ethtool -K sgnic1 rx on

step "Tx offload off on sgnic0: software checksums verified by the Rx parser"
ip netns exec a ethtool -K sgnic0 tx off
ok2=$(sgnic_stat b sgnic1 rx_csum_ok)
ip netns exec b python3 "$net" capture sgnic1 100000 60 /tmp/capture.stop >/tmp/capture.txt 2>/tmp/capture.err &
cpid=$!
wait_ready capture /tmp/capture.err "^capturing"
tcp_udp_traffic
capture_check "software"
expect_ge "sgnic1 rx_csum_ok grew" $((ok2 + 1000)) "$(sgnic_stat b sgnic1 rx_csum_ok)"
rmmod sgnic
