#!/usr/bin/env bash
# sgnicd on a real system bus steers real traffic: a drop rule added over
# D-Bus drops UDP 6000 on sgnic1 and counts it; RX-only rules grow only the
# RX table (rehash seen in the kernel, the properties and the Rehashed
# signal); a restart keeps every rule, once, with the same ids.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd

step "pair in namespaces (sgnicd serves netns b's port sgnic1); system bus"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
tc_ingress_counters b sgnic1 6000 6001
start_system_bus
start_sgnicd b
ports=$(bus_call "" Manager ListPorts)
expect_eq "ports sgnicd sees" '[["sgnic1","/org/sgnic/Steering1/port/sgnic1"]]' \
	"$(jq -c '.data[0]' <<<"$ports")"

port=$(bus_call port/sgnic1 Port Describe | jq -r '.data[0]')
expect_eq "sgnic1 link state (rtnetlink)" "up 1500" "$(jq -r '"\(.link.oper_state) \(.link.mtu)"' <<<"$port")"

step "matcher on sgnic1 (ip-proto, l4-dport), a count+drop rule for UDP 6000"
m=$(bus_call port/sgnic1 Port CreateMatcher 'ua(ss)' 1 2 ip-proto 0xff l4-dport 0xffff |
	jq -r '.data[0]')
expect_match "matcher path" "^$BUS_ROOT/matcher/[0-9]+$" "$m"
M=$(matcher_of "$m")
ids=$(bus_call port/sgnic1 Port AddRules 'a(osa(ss)as)' 1 "$m" rx 2 ip-proto udp l4-dport 6000 \
	2 count drop | jq -c '.data[0]')
expect_match "rule ids" '^\[[0-9]+\]$' "$ids"
expect_eq "kernel: matchers on sgnic1" 1 "$(jget "$(nl b dev sgnic1)" .matchers)"

step "20 datagrams to UDP 6000 are dropped and counted; UDP 6001 passes"
udp_send a 10.10.0.2 6000 20
udp_send a 10.10.0.2 6001 5
sleep 1
expect_eq "tc: UDP 6000 reaching the stack" 0 "$(tc_count b sgnic1 2)"
expect_eq "tc: UDP 6001 reaching the stack" 5 "$(tc_count b sgnic1 3)"
rules=$(nl b rules sgnic1)
expect_eq "kernel rules" 1 "$(jq length <<<"$rules")"
expect_eq "kernel: the rule's rx packets" 20 "$(jq '.[0].rx.packets' <<<"$rules")"
expect_eq "ethtool: steering drops" 20 \
	"$(in_ns b ethtool -S sgnic1 | awk '/steer_rx_drops/ {print $2; exit}')"

step "Rehashed signal monitor; 40 RX-only rules in one AddRules call"
in_ns b gdbus monitor --system --dest "$BUS_NAME" --object-path "$m" >/tmp/signals 2>&1 &
monitor=$!
wait_ready "signal monitor" /tmp/signals "is owned by"
args=()
for i in $(seq 40); do
	args+=("$m" rx 2 ip-proto udp l4-dport $((7000 + i)) 1 count)
done
ids=$(bus_call port/sgnic1 Port AddRules 'a(osa(ss)as)' 40 "${args[@]}" | jq -c '.data[0]')
expect_eq "rule ids returned" 40 "$(jq length <<<"$ids")"
sleep 1
kill "$monitor" 2>/dev/null || true
rx_log=$(bus_prop "$M" Matcher RxSizeLog)
# 41 * 100 / 70 = 58 rows needed: 2^6, grown once before the 40 go in.
expect_eq "RxSizeLog after 41 RX rules" 6 "$rx_log"
expect_eq "TxSizeLog after RX-only rules" 1 "$(bus_prop "$M" Matcher TxSizeLog)"
expect_eq "RxRules" 41 "$(bus_prop "$M" Matcher RxRules)"
expect_eq "TxRules" 0 "$(bus_prop "$M" Matcher TxRules)"
expect_eq "Rehashes (one presize for the call, not one per threshold)" 1 \
	"$(bus_prop "$M" Matcher Rehashes)"
km=$(nl b matchers sgnic1)
expect_eq "kernel: one matcher after the rehashes" 1 "$(jq length <<<"$km")"
expect_eq "kernel: RX size_log" "$rx_log" "$(jq '.[0].rx.size_log' <<<"$km")"
expect_eq "kernel: TX size_log" 1 "$(jq '.[0].tx.size_log' <<<"$km")"
expect_eq "kernel: RX rules" 41 "$(jq '.[0].rx.rules' <<<"$km")"
cat /tmp/signals | head -5
expect_match "Rehashed signal" "Rehashed \(uint32 1, uint32 6, uint32 1, uint32 1, uint64 [0-9]+, uint64 1, 'presize'\)" \
	"$(cat /tmp/signals)"
expect_match "rehash in the log" "rehash matcher [0-9]+ on sgnic1 \(presize\): rx size_log 1->6, tx 1->1, 1 rules moved" "$(cat "$SGNICD_LOG")"

step "the drop rule still drops after the rehashes moved it"
udp_send a 10.10.0.2 6000 10
sleep 1
expect_eq "tc: UDP 6000 reaching the stack" 0 "$(tc_count b sgnic1 2)"

step "restart: every rule back once, same ids, counters kept"
before=$(bus_call port/sgnic1 Port Describe | jq -r '.data[0]')
stop_sgnicd
start_sgnicd b
after=$(bus_call port/sgnic1 Port Describe | jq -r '.data[0]')
expect_eq "rules per direction after the restart" \
	"$(jq -c '[.rx_rules, .tx_rules]' <<<"$before")" "$(jq -c '[.rx_rules, .tx_rules]' <<<"$after")"
expect_eq "kernel rules after the restart" 41 "$(nl b rules sgnic1 | jq length)"
expect_eq "kernel matchers after the restart" 1 "$(nl b matchers sgnic1 | jq length)"
udp_send a 10.10.0.2 6000 10
sleep 1
expect_eq "tc: UDP 6000 reaching the stack after the restart" 0 "$(tc_count b sgnic1 2)"
stop_sgnicd
rmmod sgnic
