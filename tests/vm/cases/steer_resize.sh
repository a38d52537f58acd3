#!/usr/bin/env bash
# Resize under a continuous counted stream: the rules of a small matcher move
# in bulk to a larger resize target while UDP flows; the rule's count equals
# the datagrams sent, the source's deletion ends the resize (event sent).
# Then a resize turned around, as a rolled-back rehash does it: rules moved
# to a third matcher move back, and keep matching throughout.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl

step "pair in namespaces; tc counts UDP 6000 reaching sgnic1's stack"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
tc_ingress_counters b sgnic1 6000
in_ns a ping -c 1 -W 2 10.10.0.2 >/dev/null || fail "no connectivity"

step "matcher 1 (RX log 2) with the stream's rule 1 and 11 more"
nl b matcher-new sgnic1 id 1 prio 5 rx-log 2 ip-proto l4-dport >/dev/null
nl b rule-add sgnic1 1 1 rx ip-proto=17 l4-dport=6000 count >/dev/null
r=$(nl b rules-gen sgnic1 1 --count 11 --first-id 2 --set ip-proto=17 --vary l4-dport=7000 --continue)
echo "    filler rules: $(jget "$r" .applied) applied, $(jget "$r" .failed) collided"
expect_eq "rule 1 in matcher" 1 "$(jget "$(nl b rule-get sgnic1 1)" .matcher)"

step "events listener in b"
nl b monitor --count 3 --timeout-ms 60000 >/tmp/events &
mon=$!
sleep 0.5

# The stream runs until the move is over (a fixed count may end before a
# slow kernel finishes the move); SENT is what the sender reports.
step "stream of datagrams to UDP 6000 until the resize is done"
rm -f /tmp/stream.stop
udp_send a 10.10.0.2 6000 0 0.002 /tmp/stream.stop >/tmp/stream.sent &
sender=$!
for _ in $(seq 50); do
	before=$(rule_pkts b sgnic1 1 rx)
	[ "$before" -gt 0 ] && break
	sleep 0.2
done
nl b matcher-new sgnic1 id 2 prio 5 rx-log 6 ip-proto l4-dport >/dev/null
nl b matcher-resize sgnic1 1 2 >/dev/null
m=$(nl b matcher-get sgnic1 2)
expect_eq "matcher 2 resize_source" 1 "$(jget "$m" .resize_source)"
begin=$(rule_pkts b sgnic1 1 rx)
moved=$(nl b rules-move sgnic1 1 --all --batch 3 --pause-ms 100)
nl b matcher-del sgnic1 1 >/dev/null
after=$(rule_pkts b sgnic1 1 rx)
touch /tmp/stream.stop
wait "$sender"
SENT=$(cat /tmp/stream.sent)
echo "    rule 1 had $before packets when the stream was seen, $begin when the move began," \
	"$after when it ended; $SENT sent"
expect_eq "rules moved" "$(jget "$r" ".applied + 1")" "$(jget "$moved" .applied)"
sleep 1
[ "$before" -gt 0 ] && [ "$after" -gt "$begin" ] || fail "the move did not overlap the stream"

step "every datagram counted once, on the rule now in matcher 2"
rule=$(nl b rule-get sgnic1 1)
expect_eq "rule 1 matcher" 2 "$(jget "$rule" .matcher)"
expect_eq "rule 1 rx packets" "$SENT" "$(jget "$rule" .rx.packets)"
expect_eq "tc: UDP 6000 reaching the stack" "$SENT" "$(tc_count b sgnic1 2)"
m=$(nl b matcher-get sgnic1 2)
expect_eq "matcher 2 resize_source after the source's deletion" 0 "$(jget "$m" .resize_source)"
expect_eq "matcher 2 rx rules" "$(jget "$moved" .applied)" "$(jget "$m" .rx.rules)"
expect_eq "matchers on sgnic1" 1 "$(jget "$(nl b dev sgnic1)" .matchers)"

step "events: matcher 2 created, matcher 1 deleted, resize finished"
wait "$mon" || true
cat /tmp/events
expect_match "matcher-new-ntf" "\"cmd\":$((10)),\"id\":2" "$(cat /tmp/events)"
expect_match "matcher-del-ntf" "\"cmd\":$((11)),\"id\":1" "$(cat /tmp/events)"
expect_match "matcher-resized-ntf" "\"cmd\":$((12)),\"id\":2,\"ifindex\":[0-9]+,\"resize_source\":1" "$(cat /tmp/events)"
step "resize 2 -> 3, move 3 rules, turn it around, move them back"
nl b matcher-new sgnic1 id 3 prio 5 rx-log 8 ip-proto l4-dport >/dev/null
nl b matcher-resize sgnic1 2 3 >/dev/null
nl b matcher-resize sgnic1 2 3 >/dev/null || fail "naming the current target again failed"
there=$(nl b rules-move sgnic1 2 1 2 3)
expect_eq "rules moved to 3" 3 "$(jget "$there" .applied)"
expect_eq "rule 1 matcher" 3 "$(jget "$(nl b rule-get sgnic1 1)" .matcher)"
out=$(nl b matcher-del sgnic1 2 2>&1) && fail "deleting a source with rules succeeded"
nl b matcher-resize sgnic1 3 2 >/dev/null
m3=$(nl b matcher-get sgnic1 3)
m2=$(nl b matcher-get sgnic1 2)
expect_eq "matcher 3 resize_target after the turn" 2 "$(jget "$m3" .resize_target)"
expect_eq "matcher 3 resize_source after the turn" 0 "$(jget "$m3" .resize_source)"
expect_eq "matcher 2 resize_source after the turn" 3 "$(jget "$m2" .resize_source)"
udp_send a 10.10.0.2 6000 100 0.002
sleep 1
expect_eq "rule 1 rx packets while turned around" "$((SENT + 100))" "$(rule_pkts b sgnic1 1 rx)"
back=$(nl b rules-move sgnic1 3 --all)
expect_eq "rules moved back" 3 "$(jget "$back" .applied)"
nl b matcher-del sgnic1 3 >/dev/null
expect_eq "rule 1 matcher after moving back" 2 "$(jget "$(nl b rule-get sgnic1 1)" .matcher)"
m2=$(nl b matcher-get sgnic1 2)
expect_eq "matcher 2 rx rules" "$(jget "$moved" .applied)" "$(jget "$m2" .rx.rules)"
expect_eq "matcher 2 resize_source at the end" 0 "$(jget "$m2" .resize_source)"
udp_send a 10.10.0.2 6000 100 0.002
sleep 1
expect_eq "rule 1 rx packets at the end" "$((SENT + 200))" "$(rule_pkts b sgnic1 1 rx)"
expect_eq "tc: UDP 6000 reaching the stack" "$((SENT + 200))" "$(tc_count b sgnic1 2)"
rmmod sgnic
