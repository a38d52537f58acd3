#!/usr/bin/env bash
# sgnic0 and sgnic1 are a back-to-back pair: IPv4 and IPv6 pings cross it in
# both directions with intact payloads, counted on both ends.
. "$(dirname "$0")/../testlib.sh"
need_kmod

step "insmod sgnic.ko: one pair, identified as sgnic, peers linked"
insmod "$SGNIC_KMOD"
expect_match "ethtool -i sgnic0" "driver: sgnic" "$(ethtool -i sgnic0)"
expect_match "ip -d link sgnic1" "parentbus platform parentdev sgnic" "$(ip -d link show sgnic1)"
expect_eq "iflink of sgnic0" "$(cat /sys/class/net/sgnic1/ifindex)" "$(cat /sys/class/net/sgnic0/iflink)"
expect_eq "iflink of sgnic1" "$(cat /sys/class/net/sgnic0/ifindex)" "$(cat /sys/class/net/sgnic1/iflink)"
expect_match "ip link sgnic0" "sgnic0@sgnic1" "$(ip link show sgnic0)"

step "two namespaces, a (sgnic0) and b (sgnic1)"
sgnic_pair_netns
expect_match "carrier of sgnic1" "LOWER_UP" "$(ip -n b link show sgnic1)"

tx0=$(sgnic_stat a sgnic0 tx_packets)
rx1=$(sgnic_stat b sgnic1 rx_packets)

step "ping both ways, IPv4 and IPv6, payload pattern checked by ping"
for args in "a 10.10.0.2" "b 10.10.0.1" "a fd00::2" "b fd00::1"; do
	set -- $args
	out=$(ip netns exec "$1" ping -c 3 -i 0.2 -W 2 -s 1000 -p a55a0ff0 "$2") ||
		fail "ping from $1 to $2 failed: $out"
	expect_match "ping $1 -> $2" " 0% packet loss" "$out"
	if grep -q "wrong data byte" <<<"$out"; then fail "ping $2: corrupted payload"; fi
done

step "counters"
# 12 echo requests and 12 replies cross in each direction, plus ND/ARP.
expect_ge "sgnic0 tx_packets" $((tx0 + 12)) "$(sgnic_stat a sgnic0 tx_packets)"
expect_ge "sgnic1 rx_packets" $((rx1 + 12)) "$(sgnic_stat b sgnic1 rx_packets)"
expect_ge "sgnic1 tx_confirm" 12 "$(sgnic_stat b sgnic1 tx_confirm)"
expect_eq "sgnic0 tx_errors" 0 "$(sgnic_stat a sgnic0 tx_errors)"
expect_eq "sgnic1 rx_nobuf" 0 "$(sgnic_stat b sgnic1 rx_nobuf)"
expect_eq "sgnic1 rx_errors" 0 "$(sgnic_stat b sgnic1 rx_errors)"
expect_eq "sgnic0 tx_sg (pings are linear)" 0 "$(sgnic_stat a sgnic0 tx_sg)"

step "rmmod with the ports in namespaces"
rmmod sgnic
[ ! -e /sys/module/sgnic ] || fail "sgnic still loaded"
