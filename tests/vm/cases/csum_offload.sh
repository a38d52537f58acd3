#!/usr/bin/env bash
# Tx checksum offload and TSO: the frame manager completes TCP/UDP checksums
# over IPv4 and IPv6 and cuts TSO superframes into segments, and what the
# receiver sees on the wire fits the MTU and carries valid IPv4 header and
# L4 checksums (checked independently from an AF_PACKET capture).  Its Rx
# parser marks verified frames, and with rx checksumming off the stack
# verifies them.
. "$(dirname "$0")/../testlib.sh"
need_kmod
net=$(cd "$(dirname "$0")/../helpers" && pwd)/sgnic_net.py

# tcp_send HOST: 1 MiB over TCP from a to b; sets tso_sent to the
# superframes sgnic0 sent meanwhile.
tcp_send() {
	local tso0
	tso0=$(sgnic_stat a sgnic0 tx_tso)
	ip netns exec b python3 "$net" recv 5001 /tmp/dst.bin &
	local rpid=$!
	ip netns exec a python3 "$net" send "$1" 5001 /tmp/src.bin
	wait $rpid
	expect_eq "sha256 over TCP to $1" "$(sha256sum </tmp/src.bin)" "$(sha256sum </tmp/dst.bin)"
	tso_sent=$(($(sgnic_stat a sgnic0 tx_tso) - tso0))
}

# TCP over IPv4 and IPv6, UDP over both; tso4/tso6: superframes of each.
tcp_udp_traffic() {
	tcp_send 10.10.0.2
	tso4=$tso_sent
	tcp_send fd00::2
	tso6=$tso_sent
	ip netns exec a python3 "$net" udp-send 10.10.0.2 6000 60 1200
	ip netns exec a python3 "$net" udp-send fd00::2 6000 60 1200
}

# capture_check WHAT: the capture of sgnic1 saw TCP and UDP, none bad.  (The
# captures stop on /tmp/capture.stop; their 600 s limit is for one left behind.)
capture_check() {
	touch /tmp/capture.stop
	wait "$cpid" || fail "capture failed: $(cat /tmp/capture.err)"
	grep -v "^capturing" /tmp/capture.err >&2 || true
	rm -f /tmp/capture.stop
	local res
	res=$(cat /tmp/capture.txt)
	echo "    capture: $res"
	expect_eq "$1: bad checksums" 0 "$(sed -n 's/.*bad=\([0-9]*\).*/\1/p' <<<"$res")"
	expect_eq "$1: frames longer than the MTU" 0 "$(sed -n 's/.*big=\([0-9]*\).*/\1/p' <<<"$res")"
	expect_ge "$1: TCP frames checked" 50 "$(sed -n 's/.*tcp=\([0-9]*\).*/\1/p' <<<"$res")"
	# 60 IPv4 and 60 IPv6 datagrams were sent; a slow capture may miss a few.
	expect_ge "$1: UDP frames checked" 100 "$(sed -n 's/.*udp=\([0-9]*\).*/\1/p' <<<"$res")"
}

step "pair; offloads on, GRO and rx-gro-hw off on sgnic1 so the capture sees wire frames"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
ip netns exec b ethtool -K sgnic1 gro off rx-gro-hw off
expect_match "ethtool -k sgnic0" "tx-checksum-ip-generic: off|tx-checksum-ipv4: on" "$(ip netns exec a ethtool -k sgnic0)"
expect_match "ethtool -k sgnic1" "rx-checksumming: on" "$(ip netns exec b ethtool -k sgnic1)"
expect_match "ethtool -k sgnic0" "tx-tcp-segmentation: on" "$(ip netns exec a ethtool -k sgnic0)"
expect_match "ethtool -k sgnic0" "tx-tcp6-segmentation: on" "$(ip netns exec a ethtool -k sgnic0)"
head -c $((1 << 20)) /dev/urandom >/tmp/src.bin

step "Tx offload: segments and checksums made by the frame manager are valid on the wire"
ok0=$(sgnic_stat b sgnic1 rx_csum_ok)
tx0=$(sgnic_stat a sgnic0 tx_packets)
rx0=$(sgnic_stat b sgnic1 rx_packets)
ip netns exec b python3 "$net" capture sgnic1 100000 600 /tmp/capture.stop >/tmp/capture.txt 2>/tmp/capture.err &
cpid=$!
wait_ready capture /tmp/capture.err "^capturing"
tcp_udp_traffic
capture_check "offloaded"
expect_ge "sgnic1 rx_csum_ok grew (the Rx parser verified them)" $((ok0 + 1000)) "$(sgnic_stat b sgnic1 rx_csum_ok)"
# 1 MiB is 725 segments of 1448 bytes: superframes carry them.
expect_ge "TSO superframes over IPv4" 10 "$tso4"
expect_ge "TSO superframes over IPv6" 10 "$tso6"
# tx_packets counts a superframe's segments; a stray IPv6 control frame may
# be in flight when the counters are read, a miscount would be hundreds off.
tx=$(($(sgnic_stat a sgnic0 tx_packets) - tx0))
rx=$(($(sgnic_stat b sgnic1 rx_packets) - rx0))
echo "    sgnic0 sent $tx frames, sgnic1 received $rx"
expect_le "sgnic0 tx_packets (segments) - sgnic1 rx_packets" 3 $((tx > rx ? tx - rx : rx - tx))

step "rx checksumming off on sgnic1: the stack verifies segments, nothing is marked"
ip netns exec b ethtool -K sgnic1 rx off
ok1=$(sgnic_stat b sgnic1 rx_csum_ok)
incsum0=$(ip netns exec b awk '/^Tcp:/ && $NF ~ /^[0-9]+$/ { print $NF }' /proc/net/snmp)
tcp_udp_traffic
expect_eq "sgnic1 rx_csum_ok unchanged" "$ok1" "$(sgnic_stat b sgnic1 rx_csum_ok)"
expect_eq "Tcp InCsumErrors in b" "$incsum0" "$(ip netns exec b awk '/^Tcp:/ && $NF ~ /^[0-9]+$/ { print $NF }' /proc/net/snmp)"
ip netns exec b ethtool -K sgnic1 rx on

step "Tx offload off on sgnic0 (so TSO too): software segments and checksums"
ip netns exec a ethtool -K sgnic0 tx off
expect_match "ethtool -k sgnic0" "tx-tcp-segmentation: off" "$(ip netns exec a ethtool -k sgnic0)"
ok2=$(sgnic_stat b sgnic1 rx_csum_ok)
ip netns exec b python3 "$net" capture sgnic1 100000 600 /tmp/capture.stop >/tmp/capture.txt 2>/tmp/capture.err &
cpid=$!
wait_ready capture /tmp/capture.err "^capturing"
tcp_udp_traffic
capture_check "software"
expect_eq "TSO superframes without checksum offload" 0 $((tso4 + tso6))
expect_ge "sgnic1 rx_csum_ok grew" $((ok2 + 1000)) "$(sgnic_stat b sgnic1 rx_csum_ok)"
rmmod sgnic
