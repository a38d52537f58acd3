#!/usr/bin/env bash
# sgnicctl against the real sgnicd and module, end to end: version, help,
# ports, matchers and rules created, listed, shown and deleted, with every
# JSON answer compared with the kernel's own view (sgnic-nl); a drop rule
# added with sgnicctl drops real UDP traffic and its hit counters in
# `rule list -j` equal the datagrams sent; stats and port show sum them.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd
need_sgnicctl

step "pair in namespaces (sgnicd serves netns b's port sgnic1); system bus"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
tc_ingress_counters b sgnic1 6000 6001
start_system_bus
start_sgnicd b

step "version and help"
v=$(ctl -j version)
expect_match "version -j: sgnicctl" '^[0-9]+\.[0-9]+' "$(jget "$v" .sgnicctl)"
expect_eq "version -j: sgnicd = Manager.Version" "$(bus_call "" Manager Version | jq -r '.data[0]')" \
	"$(jget "$v" .sgnicd)"
expect_match "version" "^sgnicctl .*"$'\n'"sgnicd " "$(ctl version)"
expect_match "--help" "usage: sgnicctl \[options\] OBJECT VERB" "$(ctl --help)"
for obj in port matcher rule monitor stats version; do
	expect_match "$obj --help" "sgnicctl $obj " "$(ctl "$obj" --help)"
done
expect_match "rule add -h" "sgnicctl rule add \[dev PORT\] matcher ID" "$(ctl rule add -h)"

step "port list and port show"
p=$(ctl -j port list)
expect_eq "port list -j: names" '["sgnic1"]' "$(jq -c '[.ports[].name]' <<<"$p")"
expect_eq "port list -j: ifindex = the kernel's" "$(jget "$(nl b dev sgnic1)" .ifindex)" \
	"$(jq '.ports[0].ifindex' <<<"$p")"
expect_match "port list: a row for sgnic1" $'\n''sgnic1 ' "$(ctl port list)"
s=$(ctl -j port show sgnic1)
expect_eq "port show -j: name" sgnic1 "$(jget "$s" .name)"
expect_eq "port show -j: matchers" 0 "$(jq '.matchers | length' <<<"$s")"
expect_eq "port show -j: counters" '{"rx_bytes":0,"rx_packets":0,"tx_bytes":0,"tx_packets":0}' \
	"$(jq -cS .counters <<<"$s")"

step "matcher create (ip-proto, l4-dport) and (ipv4-src/24)"
m1=$(ctl matcher create dev sgnic1 prio 2 match ip-proto,l4-dport)
expect_match "matcher create prints the id" '^[0-9]+$' "$m1"
m2=$(ctl -j matcher create dev sgnic1 match ipv4-src/24 | jq .id)
expect_match "matcher create -j: id" '^[0-9]+$' "$m2"
km=$(nl b matchers sgnic1)
expect_eq "kernel: matchers on sgnic1" 2 "$(jq length <<<"$km")"
ml=$(ctl -j matcher list)
expect_eq "matcher list -j: ids" "[$m1,$m2]" "$(jq -c '[.matchers[].id] | sort' <<<"$ml")"
expect_eq "matcher list dev sgnic1 -j = matcher list -j" "$(jq -cS . <<<"$ml")" \
	"$(ctl -j matcher list dev sgnic1 | jq -cS .)"
j1=$(jq -c ".matchers[] | select(.id == $m1)" <<<"$ml")
expect_eq "matcher $m1: port, priority, installed" '["sgnic1",2,true]' \
	"$(jq -c '[.port, .priority, .installed]' <<<"$j1")"
expect_eq "matcher $m1: template" '["ip-proto","l4-dport"]' "$(jq -c '[.template[].field]' <<<"$j1")"
# The kernel numbers matchers itself; the priority tells them apart.
k1=$(jq -c '.[] | select(.priority == 2)' <<<"$km")
expect_eq "matcher $m1: rx size_log = the kernel's" "$(jq .rx.size_log <<<"$k1")" \
	"$(jq .rx.size_log <<<"$j1")"
expect_eq "matcher $m1: tx size_log = the kernel's" "$(jq .tx.size_log <<<"$k1")" \
	"$(jq .tx.size_log <<<"$j1")"
expect_eq "matcher $m1: rx pages = the kernel's" "$(jq .rx.pages <<<"$k1")" "$(jq .rx.pages <<<"$j1")"
expect_match "matcher list: a row for $m1" $'\n'" *$m1 +sgnic1 +2 +yes " "$(ctl matcher list)"

step "rule add: a count+drop rule for UDP 6000 (rx), a count rule for 6001 (both), one on matcher $m2"
r1=$(ctl rule add matcher "$m1" dir rx ip-proto udp l4-dport 6000 action count drop)
expect_match "rule add prints the id" '^[0-9]+$' "$r1"
r2=$(ctl -j rule add dev sgnic1 matcher "$m1" ip-proto udp l4-dport 6001 action count | jq .id)
expect_match "rule add -j: id" '^[0-9]+$' "$r2"
r3=$(ctl rule add matcher "$m2" dir rx ipv4-src 10.1.2.0 action count queue 1)
expect_eq "kernel rules on sgnic1" 3 "$(nl b rules sgnic1 | jq length)"
# kernel_rule DPORT: the kernel's rule matching that UDP port (its ids are its own).
kernel_rule() { nl b rules sgnic1 | jq -c ".[] | select(.match[\"l4-dport\"] | tostring == \"$1\")"; }
expect_eq "kernel: the rule for UDP 6000, direction and actions" '["rx",["count","drop"]]' \
	"$(kernel_rule 6000 | jq -c '[.direction, [.actions[].type]]')"

step "20 datagrams to UDP 6000 are dropped and counted; 5 to UDP 6001 pass and are counted"
udp_send a 10.10.0.2 6000 20
udp_send a 10.10.0.2 6001 5
sleep 1
expect_eq "tc: UDP 6000 reaching the stack" 0 "$(tc_count b sgnic1 2)"
expect_eq "tc: UDP 6001 reaching the stack" 5 "$(tc_count b sgnic1 3)"
rl=$(ctl -j rule list)
expect_eq "rule list -j: ids" "$(printf '%s\n' "$r1" "$r2" "$r3" | sort -n | jq -sc .)" \
	"$(jq -c '[.rules[].id] | sort' <<<"$rl")"
expect_eq "rule list -j: errors" '[]' "$(jq -c .errors <<<"$rl")"
j=$(jq -c ".rules[] | select(.id == $r1)" <<<"$rl")
expect_eq "rule $r1: matcher, port, directions, actions" "[$m1,\"sgnic1\",\"rx\",[\"count\",\"drop\"]]" \
	"$(jq -c '[.matcher, .port, .directions, .actions]' <<<"$j")"
expect_eq "rule $r1: match" '{"ip-proto":"17","l4-dport":"6000"}' \
	"$(jq -cS '[.match[] | {(.field): .value}] | add' <<<"$j")"
expect_eq "rule $r1: rx_packets = datagrams sent" 20 "$(jq .counters.rx_packets <<<"$j")"
expect_eq "rule $r1: rx_packets = the kernel's" "$(kernel_rule 6000 | jq .rx.packets)" \
	"$(jq .counters.rx_packets <<<"$j")"
# 100 B of payload + UDP 8 + IPv4 20 + Ethernet 14.
expect_eq "rule $r1: rx_bytes = 20 x 142 B" 2840 "$(jq .counters.rx_bytes <<<"$j")"
j=$(jq -c ".rules[] | select(.id == $r2)" <<<"$rl")
expect_eq "rule $r2: directions, actions" '["both",["count"]]' \
	"$(jq -c '[.directions, .actions]' <<<"$j")"
expect_eq "rule $r2: rx_packets" 5 "$(jq .counters.rx_packets <<<"$j")"
j=$(jq -c ".rules[] | select(.id == $r3)" <<<"$rl")
expect_eq "rule $r3: actions" '["count","queue 1"]' "$(jq -c .actions <<<"$j")"
expect_eq "rule $r3: rx_packets (nothing from 10.1.2.0/24)" 0 "$(jq .counters.rx_packets <<<"$j")"
expect_eq "rule list matcher $m1 -j: ids" "$(printf '%s\n' "$r1" "$r2" | sort -n | jq -sc .)" \
	"$(ctl -j rule list matcher "$m1" | jq -c '[.rules[].id] | sort')"
expect_match "rule list: the drop rule's row with its 20 hits" \
	$'(^|\n)'" *$r1 +$m1 +sgnic1 +rx .*drop.* 20 " "$(ctl rule list)"

step "matcher show, port show and stats agree with the kernel and the traffic"
ms=$(ctl -j matcher show "$m1")
expect_eq "matcher show -j: rules" "$(printf '%s\n' "$r1" "$r2" | sort -n | jq -sc .)" \
	"$(jq -c '[.rules[].id] | sort' <<<"$ms")"
km=$(nl b matchers sgnic1 | jq -c '.[] | select(.priority == 2)')
expect_eq "matcher show -j: rx rules = the kernel's" "$(jget "$km" .rx.rules)" "$(jq .rx.rules <<<"$ms")"
expect_eq "matcher show -j: tx rules = the kernel's" "$(jget "$km" .tx.rules)" "$(jq .tx.rules <<<"$ms")"
expect_eq "matcher show -j: rx size_log = the kernel's" "$(jget "$km" .rx.size_log)" \
	"$(jq .rx.size_log <<<"$ms")"
expect_eq "matcher show -j: rx rules" 2 "$(jq .rx.rules <<<"$ms")"
expect_eq "matcher show -j: tx rules" 1 "$(jq .tx.rules <<<"$ms")"
out=$(ctl matcher show "$m1")
expect_match "matcher show: the RX row (size_log 2, 2 rules)" $'\n''rx +2 +2 ' "$out"
expect_match "matcher show: its rule count" "2 rules \(sgnicctl rule list matcher $m1\)" "$out"
s=$(ctl -j port show sgnic1)
expect_eq "port show -j: matchers" 2 "$(jq '.matchers | length' <<<"$s")"
expect_eq "port show -j: rx_rules" 3 "$(jq .rx_rules <<<"$s")"
expect_eq "port show -j: rx_rules = the kernel's" "$(jget "$(nl b dev sgnic1)" .rx.rules)" \
	"$(jq .rx_rules <<<"$s")"
expect_eq "port show -j: counters.rx_packets" 25 "$(jq .counters.rx_packets <<<"$s")"
st=$(ctl -j stats)
expect_eq "stats -j: matchers, rules" '[2,3]' "$(jq -c '[.matchers, .rules]' <<<"$st")"
expect_eq "stats -j: sgnic1 rx_packets" 25 "$(jq '.ports[] | select(.name == "sgnic1") | .rx_packets' <<<"$st")"
expect_eq "stats -j: total rx_packets" 25 "$(jq .total.rx_packets <<<"$st")"
expect_match "stats: a row for sgnic1" $'\n''sgnic1 ' "$(ctl stats)"

step "rule delete, rule flush, matcher delete"
ctl rule delete "$r1" >/dev/null
expect_eq "kernel: the rule for UDP 6000 gone" "" "$(kernel_rule 6000)"
udp_send a 10.10.0.2 6000 4
sleep 1
expect_eq "tc: UDP 6000 reaching the stack without the drop rule" 4 "$(tc_count b sgnic1 2)"
expect_eq "rule flush dev sgnic1" "deleted 2 rules" "$(ctl rule flush dev sgnic1)"
expect_eq "kernel rules after the flush" 0 "$(nl b rules sgnic1 | jq length)"
expect_eq "matchers kept by the flush" 2 "$(ctl -j matcher list | jq '.matchers | length')"
ctl matcher delete "$m2" >/dev/null
expect_eq "matcher list -j after delete" "[$m1]" "$(ctl -j matcher list | jq -c '[.matchers[].id]')"
expect_eq "kernel matchers after delete (priorities)" "[2]" "$(nl b matchers sgnic1 | jq -c '[.[].priority]')"
expect_eq "rule list -j, nothing left" 0 "$(ctl -j rule list | jq '.rules | length')"

stop_sgnicd
rmmod sgnic
