#!/usr/bin/env bash
# Steering real traffic: RX and TX rules see ping, UDP and TCP that match and
# leave alone what does not; per-rule counters, drops, marks (seen by a tc fw filter)
# and queue selection (ethtool steer_rxqN); RX-only rules never touch TX; a
# TX rule counts a TSO superframe as the frames it becomes.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl

step "pair in namespaces; tc ingress counters in b: mark 77, UDP 5000/5001/5002"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
tc_ingress_counters b sgnic1 5000 5001 5002
in_ns a ping -c 1 -W 2 10.10.0.2 >/dev/null || fail "no connectivity before steering"

step "matcher 1 on sgnic1: ipv4-src, ip-proto, l4-dport; RX log 4, TX log 0"
m=$(nl b matcher-new sgnic1 id 1 prio 1 rx-log 4 tx-log 0 ipv4-src ip-proto l4-dport)
expect_eq "rx size_log" 4 "$(jget "$m" .rx.size_log)"
tx_pages0=$(jget "$m" .tx.pages)
expect_eq "tx pages of an empty size_log 0 table" 1 "$tx_pages0"

step "RX rules: UDP 5000 count+mark 77, UDP 5002 drop (no count), TCP 5201 count+queue 1, ICMP count"
nl b rule-add sgnic1 1 10 rx ipv4-src=10.10.0.1 ip-proto=17 l4-dport=5000 count mark=77 >/dev/null
nl b rule-add sgnic1 1 11 rx ipv4-src=10.10.0.1 ip-proto=17 l4-dport=5002 drop >/dev/null
nl b rule-add sgnic1 1 12 rx ipv4-src=10.10.0.1 ip-proto=6 l4-dport=5201 count queue=1 >/dev/null
nl b rule-add sgnic1 1 13 rx ipv4-src=10.10.0.1 ip-proto=1 count >/dev/null
m=$(nl b matcher-get sgnic1 1)
expect_eq "matcher rx rules" 4 "$(jget "$m" .rx.rules)"
expect_eq "matcher tx rules (RX-only rules)" 0 "$(jget "$m" .tx.rules)"
expect_eq "tx pages unchanged" "$tx_pages0" "$(jget "$m" .tx.pages)"
expect_eq "tx size_log unchanged" 0 "$(jget "$m" .tx.size_log)"

step "UDP: 20 to port 5000 (match), 10 to 5001 (no rule), 15 to 5002 (dropped)"
drops0=$(sgnic_stat b sgnic1 steer_rx_drops)
udp_send a 10.10.0.2 5000 20
udp_send a 10.10.0.2 5001 10
udp_send a 10.10.0.2 5002 15
sleep 0.5
expect_eq "rule 10 rx packets" 20 "$(rule_pkts b sgnic1 10 rx)"
expect_eq "rule 10 rx bytes (100 + 42 of headers)" $((20 * 142)) "$(jget "$(nl b rule-get sgnic1 10)" .rx.bytes)"
expect_eq "tc: frames marked 77" 20 "$(tc_count b sgnic1 1)"
expect_eq "tc: udp 5000 reached the stack" 20 "$(tc_count b sgnic1 2)"
expect_eq "tc: udp 5001 (no rule) reached the stack" 10 "$(tc_count b sgnic1 3)"
# count means what it says: a rule without it keeps no counters at all.
expect_eq "rule 11 (drop without count): no rx counters" null "$(rule_pkts b sgnic1 11 rx)"
expect_eq "tc: udp 5002 never reached the stack" 0 "$(tc_count b sgnic1 4)"
expect_eq "ethtool steer_rx_drops" $((drops0 + 15)) "$(sgnic_stat b sgnic1 steer_rx_drops)"
expect_eq "ethtool steer_rx_marked" 20 "$(sgnic_stat b sgnic1 steer_rx_marked)"

step "TCP to 5201 (iperf3, 1 s): selected queue 1, counted on steer_rxq1"
# The same flow counted as it leaves sgnic0, sent as TSO superframes: a TX
# rule counts the frames they become, as the receiver's RX rule does.
nl a matcher-new sgnic0 id 1 prio 1 rx-log 0 tx-log 2 ipv4-src ip-proto l4-dport >/dev/null
nl a rule-add sgnic0 1 40 tx ipv4-src=10.10.0.1 ip-proto=6 l4-dport=5201 count >/dev/null
tso0=$(sgnic_stat a sgnic0 tx_tso)
in_ns b iperf3 -s -D -1 -B 10.10.0.2 --logfile /tmp/iperf-s.log
sleep 0.5
in_ns a iperf3 -c 10.10.0.2 -t 1 >/dev/null || fail "iperf3 failed: $(tail -n 3 /tmp/iperf-s.log)"
sleep 0.3
tcp=$(rule_pkts b sgnic1 12 rx)
expect_ge "rule 12 rx packets" 100 "$tcp"
expect_eq "ethtool steer_rxq1 = rule 12 hits" "$tcp" "$(sgnic_stat b sgnic1 steer_rxq1)"
expect_eq "ethtool steer_rxq0" 0 "$(sgnic_stat b sgnic1 steer_rxq0)"
expect_ge "sgnic0 tx_tso grew (superframes)" $((tso0 + 10)) "$(sgnic_stat a sgnic0 tx_tso)"
expect_eq "sgnic0 TX rule 40 packets = sgnic1 RX rule 12 packets" "$tcp" "$(rule_pkts a sgnic0 40 tx)"
expect_eq "sgnic0 TX rule 40 bytes = sgnic1 RX rule 12 bytes" \
	"$(jget "$(nl b rule-get sgnic1 12)" .rx.bytes)" "$(jget "$(nl a rule-get sgnic0 40)" .tx.bytes)"
nl a rules-del sgnic0 40 >/dev/null
nl a matcher-del sgnic0 1 >/dev/null

step "TX table of size_log 0 holds one entry: a second TX rule collides (ENOSPC, tx)"
nl b rule-add sgnic1 1 20 tx ipv4-src=10.10.0.2 ip-proto=1 count >/dev/null
err=$(nl_err b rule-add sgnic1 1 21 tx ipv4-src=10.10.0.2 ip-proto=17 count)
expect_match "second TX rule" "ENOSPC: .*rule #0 \\(id 21\\): collision: TX table row full" "$err"

step "ping 5: requests hit RX rule 13; a TX rule on sgnic1 counts the replies"
out=$(in_ns a ping -c 5 -i 0.2 -W 2 10.10.0.2) || fail "ping failed: $out"
expect_eq "rule 13 rx packets" 5 "$(rule_pkts b sgnic1 13 rx)"
expect_eq "rule 20 tx packets" 5 "$(rule_pkts b sgnic1 20 tx)"
# Counters exist only for the directions a rule has.
expect_eq "rule 20 (TX-only rule): no rx counters" null "$(rule_pkts b sgnic1 20 rx)"
for id in 10 11 12 13; do
	expect_eq "rule $id (RX-only rule): no tx counters" null "$(rule_pkts b sgnic1 $id tx)"
done
expect_eq "ethtool steer_tx_hits" 5 "$(sgnic_stat b sgnic1 steer_tx_hits)"

step "TX drop: ping replies dropped by sgnic1's TX table, requests still counted"
nl b rules-del sgnic1 20 >/dev/null
nl b matcher-new sgnic1 id 2 prio 0 rx-log 0 tx-log 2 ip-proto >/dev/null
nl b rule-add sgnic1 2 30 tx ip-proto=1 count drop >/dev/null
if in_ns a ping -c 3 -i 0.2 -W 1 10.10.0.2 >/dev/null; then fail "ping got through a TX drop"; fi
expect_eq "rule 30 tx packets (matcher 2 runs first)" 3 "$(rule_pkts b sgnic1 30 tx)"
expect_eq "rule 13 rx packets" 8 "$(rule_pkts b sgnic1 13 rx)"
expect_eq "ethtool steer_tx_drops" 3 "$(sgnic_stat b sgnic1 steer_tx_drops)"
expect_eq "sgnic0 (no rules) steer_rx_hits" 0 "$(sgnic_stat a sgnic0 steer_rx_hits)"

step "rules gone: traffic flows again"
nl b rules-del sgnic1 10 11 12 13 30 >/dev/null
nl b matcher-del sgnic1 1 >/dev/null
nl b matcher-del sgnic1 2 >/dev/null
expect_eq "matchers on sgnic1" 0 "$(jget "$(nl b dev sgnic1)" .matchers)"
out=$(in_ns a ping -c 2 -i 0.2 -W 2 10.10.0.2) || fail "ping after cleanup failed: $out"
rmmod sgnic
