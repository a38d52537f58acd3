#!/usr/bin/env bash
# `sgnicctl rule load` and `monitor` against the real sgnicd and module:
# `monitor -j` sees the matcher added and the one RX rehash a load causes
# (the load reserves room first: one presize, no rule moved; sizes equal
# the kernel's); a file with bad lines loads the good ones and
# reports the exact failures with their lines, exit 2; `rule list -j`
# output loads back; 100k rules from a text file load, are reported and
# are all in the kernel.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd
need_sgnicctl

N=${SGNIC_CLI_LOAD_RULES:-100000}

kernel_rules() { nl - rules sgnic1 --count | jq .rules; }

step "module, system bus, sgnicd; monitor -j in the background"
insmod "$SGNIC_KMOD"
start_system_bus
start_sgnicd
"$SGNICCTL" -j monitor >/tmp/monitor.json 2>/tmp/monitor.err &
monitor=$!
# Its first line comes once it is subscribed.
for _ in $(seq 100); do
	[ -s /tmp/monitor.json ] && break
	sleep 0.1
done
expect_eq "monitor: first event" start "$(head -n 1 /tmp/monitor.json | jq -r .event)"

step "a matcher (ip-proto, l4-dport); 40 RX rules from a text file: RX grows once, to 2^6 rows, before they go in"
M=$(ctl matcher create dev sgnic1 prio 1 match ip-proto,l4-dport)
{
	echo "# 40 RX rules, comments and blank lines skipped"
	echo
	awk -v m="$M" 'BEGIN { for (i = 1; i <= 40; i++)
		printf "matcher %d dir rx ip-proto udp l4-dport %d action count\n", m, 7000 + i }'
} >/tmp/rx.txt
out=$(ctl rule load /tmp/rx.txt 2>/tmp/load.err)
expect_eq "rule load summary" "loaded 40, failed 0" "$out"
expect_eq "no progress bar when stderr is not a terminal" "" "$(cat /tmp/load.err)"
# The only matcher on sgnic1 (the kernel numbers matchers itself).
km=$(nl - matchers sgnic1 | jq -c '.[0]')
expect_eq "kernel: RX rules" 40 "$(jget "$km" .rx.rules)"
expect_eq "kernel: TX rules" 0 "$(jget "$km" .tx.rules)"
rx_log=$(jget "$km" .rx.size_log)
# 40 * 100 / 70 = 57 rows needed: 2^6, what one-by-one growth reaches too.
expect_eq "kernel: RX size_log after 40 RX rules" 6 "$rx_log"
expect_eq "kernel: TX size_log" 1 "$(jget "$km" .tx.size_log)"
ms=$(ctl -j matcher show "$M")
expect_eq "matcher show -j: rx size_log, tx size_log, rx rules" "[$rx_log,1,40]" \
	"$(jq -c '[.rx.size_log, .tx.size_log, .rx.rules]' <<<"$ms")"
sleep 1
kill -TERM "$monitor"
rc=0
wait "$monitor" || rc=$?
expect_eq "monitor exit status after SIGTERM" 0 "$rc"
grep -v '"changed"' /tmp/monitor.json | head -n 8
expect_eq "monitor: the matcher added" "$M" \
	"$(jq -r 'select(.event == "added") | .matcher' /tmp/monitor.json | head -n 1)"
rehashed=$(jq -c "select(.event == \"rehashed\" and .matcher == $M)" /tmp/monitor.json)
expect_eq "monitor: rehashed events (one presize, not one per threshold)" 1 \
	"$(grep -c . <<<"$rehashed")"
expect_eq "monitor: the rehash: reason, RX and TX sizes, rules moved" \
	"[\"presize\",1,$rx_log,1,1,0]" \
	"$(jq -c '[.reason, .rx.from, .rx.to, .tx.from, .tx.to, .rules_moved]' <<<"$rehashed")"
expect_eq "monitor: rehashes = the matcher's count" "$(jq .rehashes <<<"$ms")" \
	"$(grep -c . <<<"$rehashed")"

step "a file with bad lines: the good ones load, each failure reported by line, exit 2"
cat >/tmp/bad.txt <<EOF
matcher $M dir rx ip-proto udp l4-dport 8001 action count
matcher $M ip-proto udp l4-dport 99999 action drop
matcher 999 ip-proto tcp l4-dport 80 action drop
# a comment

matcher $M ip-proto udp l4-dport 8002 action drop
frobnicate everything
matcher $M ipv4-dst 10.0.0.1 action drop
matcher $M dir rx ip-proto udp l4-dport 7001 action count
dev sgnic0 matcher $M ip-proto udp l4-dport 8003 action drop
matcher $M dir rx ip-proto udp l4-dport 8004 action mark 7
matcher $M ip-proto udp l4-dport 8005 action mark 7
EOF
before=$(kernel_rules)
ctl_exit 2 -j rule load /tmp/bad.txt
expect_eq "loaded" 3 "$(jq .loaded <<<"$CTL_OUT")"
expect_eq "failed" 7 "$(jq .failed <<<"$CTL_OUT")"
jq -r '.failures[] | "      \(.where): \(.reason)"' <<<"$CTL_OUT"
expect_eq "failures: where" '["line 2","line 3","line 7","line 8","line 9","line 10","line 12"]' \
	"$(jq -c '[.failures[].where]' <<<"$CTL_OUT")"
reason() { jq -r ".failures[] | select(.where == \"line $1\") | .reason" <<<"$CTL_OUT"; }
expect_match "line 2: the bad port number" "99999" "$(reason 2)"
expect_eq "line 3: the unknown matcher" "no matcher 999" "$(reason 3)"
expect_match "line 7: the unknown word" "frobnicate" "$(reason 7)"
expect_match "line 8: a field not in the template" "ipv4-dst" "$(reason 8)"
expect_match "line 9: a rule already there (the kernel's answer)" "same direction and match" "$(reason 9)"
expect_eq "line 10: the wrong port" "matcher $M is on port 'sgnic1', not 'sgnic0'" "$(reason 10)"
expect_match "line 12: mark in a rule of both directions (the default)" \
	"action 'mark 7' acts on received frames: the rule's direction must be rx, not both" "$(reason 12)"
expect_eq "kernel rules: + the 3 loaded" $((before + 3)) "$(kernel_rules)"
expect_eq "kernel: the rule for l4-dport 8004 marks 7" '[7]' \
	"$(nl - rules sgnic1 | jq -c '[.[] | select(.match["l4-dport"] == "8004") | .actions[].mark // empty]')"
ctl_exit 2 rule load /tmp/bad.txt
expect_match "human summary, loaded none the second time" "^loaded 0, failed 10"$'\n'"  line 1: " "$CTL_OUT"

step "rule list -j output loads back (JSON form)"
ctl -j rule list matcher "$M" >/tmp/rules.json
expect_eq "rules saved" 43 "$(jq '.rules | length' /tmp/rules.json)"
expect_eq "rule flush dev sgnic1" "deleted 43 rules" "$(ctl rule flush dev sgnic1)"
expect_eq "kernel rules after the flush" 0 "$(kernel_rules)"
expect_eq "rule load of the saved JSON" "loaded 43, failed 0" "$(ctl rule load /tmp/rules.json 2>/dev/null)"
# rules_digest: match, directions and actions of every rule, sorted, hashed.
rules_digest() { jq -cS '[.rules[] | {match, directions, actions}] | sort' | sha256sum | cut -c1-16; }
expect_eq "the same 43 rules back (match, directions, actions)" "$(rules_digest </tmp/rules.json)" \
	"$(ctl -j rule list matcher "$M" | rules_digest)"
ctl rule flush >/dev/null
ctl matcher delete "$M"

step "$N RX rules from a text file (ipv4-src/32 matcher)"
M2=$(ctl matcher create dev sgnic1 match ipv4-src)
awk -v m="$M2" -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	printf "matcher %d dir rx ipv4-src 10.%d.%d.%d action drop\n", m, i / 65536, (i / 256) % 256, i % 256 }' \
	>/tmp/big.txt
expect_eq "lines in the file" "$N" "$(wc -l </tmp/big.txt)"
t0=$(date +%s)
# A failed load says why (its JSON report and stderr), not just that it failed.
out=$(ctl -j rule load /tmp/big.txt 2>/tmp/load.err) ||
	fail "rule load of $N rules exited $?: $(jq -c '{loaded, failed, failures: .failures[:5]}' <<<"$out" 2>&1) $(head -c 2000 /tmp/load.err)"
echo "    loaded in $(($(date +%s) - t0)) s"
expect_eq "rule load -j: loaded, failed, failures" "{\"failed\":0,\"failures\":[],\"loaded\":$N}" \
	"$(jq -cS . <<<"$out")"
expect_eq "nothing on stderr when piped" "" "$(cat /tmp/load.err)"
expect_eq "kernel rules on sgnic1" "$N" "$(kernel_rules)"
# matcher list, not show: show lists every rule (~60 s for 100k with the
# sanitized daemon in a TCG guest); vm.daemon_rehash_stall lists 200k.
ml=$(ctl -j matcher list | jq -c ".matchers[] | select(.id == $M2)")
expect_eq "matcher list -j: rx rules" "$N" "$(jq .rx.rules <<<"$ml")"
expect_eq "one rehash for the whole load (reserved before the first chunk)" 1 "$(jq .rehashes <<<"$ml")"
expect_eq "kernel: RX size_log = sgnicctl's" "$(nl - matchers sgnic1 | jq '.[0].rx.size_log')" \
	"$(jq .rx.size_log <<<"$ml")"

step "flush the $N rules (bulk deletes, one shrink)"
t0=$(date +%s)
expect_eq "rule flush" "deleted $N rules" "$(ctl rule flush)"
echo "    flushed in $(($(date +%s) - t0)) s"
expect_eq "kernel rules after the flush" 0 "$(kernel_rules)"
expect_eq "matcher show -j: rx rules after the flush" 0 "$(ctl -j matcher show "$M2" | jq .rx.rules)"
expect_eq "kernel: RX size_log back to the initial 1" 1 "$(nl - matchers sgnic1 | jq '.[0].rx.size_log')"
stop_sgnicd
rmmod sgnic
