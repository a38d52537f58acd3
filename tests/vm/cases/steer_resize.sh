#!/usr/bin/env bash
# Resize under a continuous counted stream: the rules of a small matcher move
# in bulk to a larger resize target while UDP flows; the rule counts every
# datagram that reaches the stack once (any other is a counted drop), the
# source's deletion ends the resize (event sent).  Then a resize turned
# around, as a rolled-back rehash does it: rules moved to a third matcher
# move back, and keep matching throughout.  Last, the same streamed resize
# with the target before its source in the matcher list.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl

# Frames the pair dropped on the way, with the reason counted: the sender's
# qdisc and driver, the receiver's driver (queue full, no buffer, error).
pair_drops() {
	local qdisc
	qdisc=$(in_ns a tc -s qdisc show dev sgnic0 | sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | head -n 1)
	echo $((${qdisc:-0} + $(sgnic_stat a sgnic0 tx_dropped) + $(sgnic_stat b sgnic1 rx_dropped) +
		$(sgnic_stat b sgnic1 rx_nobuf) + $(sgnic_stat b sgnic1 rx_errors)))
}

# counted_once WHAT SENT RULE0 TC0 DROPS0: after SENT datagrams to UDP 6000
# (RULE0, TC0, DROPS0 read before them: `counters`), rule 1 counted each datagram that
# reached sgnic1's stack exactly once, and each that did not is a counted
# drop.  The last ones may still be on their way in a slow guest: wait for
# them (a lost one costs the 10 s of the wait, nothing else).
counted_once() {
	local what=$1 sent=$2 rule0=$3 tc0=$4 drops0=$5 tc rule drops n=0
	tc=$(tc_count b sgnic1 2)
	while [ $((tc - tc0)) -lt "$sent" ] && [ $n -lt 20 ]; do
		sleep 0.5
		tc=$(tc_count b sgnic1 2)
		n=$((n + 1))
	done
	rule=$(rule_pkts b sgnic1 1 rx)
	drops=$(pair_drops)
	echo "    $what: $sent sent, $((tc - tc0)) reached the stack, rule 1 counted" \
		"$((rule - rule0)), the pair dropped $((drops - drops0))"
	expect_eq "$what: rule 1 counted every datagram that reached the stack" \
		"$((tc - tc0))" "$((rule - rule0))"
	expect_le "$what: datagrams that did not reach the stack (each a counted drop)" \
		"$((drops - drops0))" "$((sent - tc + tc0))"
}

# counters: rule 1's RX count, tc's UDP 6000 count, the pair's drops (the
# last three arguments of counted_once).
counters() { echo "$(rule_pkts b sgnic1 1 rx) $(tc_count b sgnic1 2) $(pair_drops)"; }

# stream_start: datagrams to UDP 6000 every 2 ms until stream_stop; returns
# once rule 1 counted one of them (python starts slowly in a loaded guest).
stream_start() {
	local first
	rm -f /tmp/stream.stop
	first=$(rule_pkts b sgnic1 1 rx)
	udp_send a 10.10.0.2 6000 0 0.002 /tmp/stream.stop >/tmp/stream.sent &
	sender=$!
	for _ in $(seq 100); do
		[ "$(rule_pkts b sgnic1 1 rx)" -gt "$first" ] && return
		sleep 0.2
	done
	fail "no datagram of the stream counted after 20 s"
}

# stream_stop: stops the stream; sets SENT to how many datagrams it sent
# (not a command substitution: the sender is this shell's child).
stream_stop() {
	touch /tmp/stream.stop
	wait "$sender" || fail "the stream's sender failed"
	SENT=$(cat /tmp/stream.sent)
}

# overlapped BEGIN END: rule 1 counted datagrams between two reads taken
# when the move began and when it ended, so the stream ran through it.
overlapped() {
	echo "    rule 1 had $1 packets when the move began, $2 when it ended"
	[ "$2" -gt "$1" ] || fail "the move did not overlap the stream"
}

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
wait_ready "events listener" /tmp/events '^listening$'

# The stream runs until the move is over (a fixed count may end before a
# slow kernel finishes the move); SENT is what the sender reports.
step "stream of datagrams to UDP 6000 until the resize is done"
read -ra counts <<<"$(counters)"
stream_start
nl b matcher-new sgnic1 id 2 prio 5 rx-log 6 ip-proto l4-dport >/dev/null
nl b matcher-resize sgnic1 1 2 >/dev/null
m=$(nl b matcher-get sgnic1 2)
expect_eq "matcher 2 resize_source" 1 "$(jget "$m" .resize_source)"
begin=$(rule_pkts b sgnic1 1 rx)
moved=$(nl b rules-move sgnic1 1 --all --batch 3 --pause-ms 100)
nl b matcher-del sgnic1 1 >/dev/null
overlapped "$begin" "$(rule_pkts b sgnic1 1 rx)"
stream_stop
expect_eq "rules moved" "$(jget "$r" ".applied + 1")" "$(jget "$moved" .applied)"

step "every datagram counted once, on the rule now in matcher 2"
rule=$(nl b rule-get sgnic1 1)
expect_eq "rule 1 matcher" 2 "$(jget "$rule" .matcher)"
counted_once "stream during the resize" "$SENT" "${counts[@]}"
m=$(nl b matcher-get sgnic1 2)
expect_eq "matcher 2 resize_source after the source's deletion" 0 "$(jget "$m" .resize_source)"
expect_eq "matcher 2 rx rules" "$(jget "$moved" .applied)" "$(jget "$m" .rx.rules)"
expect_eq "matchers on sgnic1" 1 "$(jget "$(nl b dev sgnic1)" .matchers)"

step "events: matcher 2 created, matcher 1 deleted, resize finished"
wait "$mon" || fail "events listener exited with status $?"
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
read -ra counts <<<"$(counters)"
udp_send a 10.10.0.2 6000 100 0.002
counted_once "while turned around" 100 "${counts[@]}"
back=$(nl b rules-move sgnic1 3 --all)
expect_eq "rules moved back" 3 "$(jget "$back" .applied)"
nl b matcher-del sgnic1 3 >/dev/null
expect_eq "rule 1 matcher after moving back" 2 "$(jget "$(nl b rule-get sgnic1 1)" .matcher)"
m2=$(nl b matcher-get sgnic1 2)
expect_eq "matcher 2 rx rules" "$(jget "$moved" .applied)" "$(jget "$m2" .rx.rules)"
expect_eq "matcher 2 resize_source at the end" 0 "$(jget "$m2" .resize_source)"
read -ra counts <<<"$(counters)"
udp_send a 10.10.0.2 6000 100 0.002
counted_once "after moving back" 100 "${counts[@]}"

# The lookup reads the links one matcher at a time in list order, and the
# target comes first here (a lower id, or a lower priority number): the
# links must be set and cleared so that such a lookup never misses it.
step "resize 2 -> 1 (the target before its source in the list) under a stream"
nl b matcher-new sgnic1 id 1 prio 5 rx-log 7 ip-proto l4-dport >/dev/null
read -ra counts <<<"$(counters)"
stream_start
nl b matcher-resize sgnic1 2 1 >/dev/null
begin=$(rule_pkts b sgnic1 1 rx)
moved=$(nl b rules-move sgnic1 2 --all --batch 3 --pause-ms 100)
nl b matcher-del sgnic1 2 >/dev/null
overlapped "$begin" "$(rule_pkts b sgnic1 1 rx)"
stream_stop
expect_eq "rules moved to 1" "$(jget "$r" ".applied + 1")" "$(jget "$moved" .applied)"
expect_eq "rule 1 matcher" 1 "$(jget "$(nl b rule-get sgnic1 1)" .matcher)"
counted_once "stream during the resize to a lower id" "$SENT" "${counts[@]}"
rmmod sgnic
