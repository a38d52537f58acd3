#!/usr/bin/env bash
# TCP over the pair takes the S/G Tx path with TSO superframes while SG is
# on; `ethtool -K sg off` switches Tx to contiguous frames (and TSO off) at
# run time and traffic keeps flowing; SG on brings both back.
. "$(dirname "$0")/../testlib.sh"
need_kmod

# iperf3 -J: received bytes and bits per second of the whole run.
iperf_run() { # seconds
	ip netns exec a iperf3 -c 10.10.0.2 -t "$1" -J >/tmp/iperf.json ||
		fail "iperf3 client failed: $(tail -n 5 /tmp/iperf.json)"
	python3 -c 'import json; e = json.load(open("/tmp/iperf.json"))["end"]["sum_received"]
print(int(e["bytes"]), int(e["bits_per_second"]))'
}

step "pair in two namespaces, iperf3 server in b"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
ip netns exec b iperf3 -s -D -1 -B 10.10.0.2 --logfile /tmp/iperf-s1.log
sleep 0.5
expect_match "ethtool -k sgnic0" "scatter-gather: on" "$(ip netns exec a ethtool -k sgnic0)"

step "TCP with SG on: S/G frames on Tx, checksums completed and verified"
sg0=$(sgnic_stat a sgnic0 tx_sg)
r=$(iperf_run 3); read -r bytes bps <<<"$r"
echo "    sgnic SG on: $((bps / 1000000)) Mbit/s, $bytes bytes"
expect_ge "bytes received" 1000000 "$bytes"
sg1=$(sgnic_stat a sgnic0 tx_sg)
expect_ge "sgnic0 tx_sg grew" $((sg0 + 100)) "$sg1"
expect_ge "sgnic1 rx_csum_ok" 100 "$(sgnic_stat b sgnic1 rx_csum_ok)"
expect_eq "sgnic0 tx_errors" 0 "$(sgnic_stat a sgnic0 tx_errors)"
expect_eq "sgnic1 rx_errors" 0 "$(sgnic_stat b sgnic1 rx_errors)"

expect_ge "sgnic0 tx_tso (superframes)" 100 "$(sgnic_stat a sgnic0 tx_tso)"

step "ethtool -K sgnic0 sg off: contiguous Tx only, so no TSO"
ip netns exec a ethtool -K sgnic0 sg off
expect_match "ethtool -k sgnic0" "scatter-gather: off" "$(ip netns exec a ethtool -k sgnic0)"
expect_match "ethtool -k sgnic0" "tcp-segmentation-offload: off" "$(ip netns exec a ethtool -k sgnic0)"
tso1=$(sgnic_stat a sgnic0 tx_tso)
ip netns exec b iperf3 -s -D -1 -B 10.10.0.2 --logfile /tmp/iperf-s2.log
sleep 0.5
tx0=$(sgnic_stat a sgnic0 tx_packets)
r=$(iperf_run 3); read -r bytes bps <<<"$r"
echo "    sgnic SG off: $((bps / 1000000)) Mbit/s, $bytes bytes"
expect_ge "bytes received" 1000000 "$bytes"
expect_eq "sgnic0 tx_sg unchanged" "$sg1" "$(sgnic_stat a sgnic0 tx_sg)"
expect_eq "sgnic0 tx_tso unchanged" "$tso1" "$(sgnic_stat a sgnic0 tx_tso)"
expect_ge "sgnic0 tx_packets grew" $((tx0 + 500)) "$(sgnic_stat a sgnic0 tx_packets)"
expect_eq "sgnic0 tx_errors" 0 "$(sgnic_stat a sgnic0 tx_errors)"

step "SG back on: S/G and TSO again"
ip netns exec a ethtool -K sgnic0 sg on
expect_match "ethtool -k sgnic0" "tcp-segmentation-offload: on" "$(ip netns exec a ethtool -k sgnic0)"
ip netns exec b iperf3 -s -D -1 -B 10.10.0.2 --logfile /tmp/iperf-s3.log
sleep 0.5
r=$(iperf_run 2); read -r bytes bps <<<"$r"
expect_ge "sgnic0 tx_sg grew again" $((sg1 + 100)) "$(sgnic_stat a sgnic0 tx_sg)"
expect_ge "sgnic0 tx_tso grew again" $((tso1 + 100)) "$(sgnic_stat a sgnic0 tx_tso)"
rmmod sgnic
