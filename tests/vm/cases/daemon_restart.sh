#!/usr/bin/env bash
# sgnicd restarts without touching what the kernel already holds right.
# With N rules in one matcher (SGNIC_RESTART_RULES, default 10000; 100000 by
# hand for the issue's scale) and, in a second, a count+drop rule for UDP
# 9999 that a steady stream hits all along, a SIGTERM restart and a kill -9
# restart each adopt both matchers and every rule with not one rule insert,
# delete or move (sgnic1's rule_ops), the same kernel matchers and rule ids,
# the drop counter going on; the SIGTERM one from the seal the stop left,
# without reading a rule back.  Changes made by hand while sgnicd is down are
# settled exactly: another owner's matcher and rule are left alone, another
# owner's rule in sgnicd's matcher goes, a deleted rule comes back, a
# changed rule is replaced, a resize left half done is finished; rule_ops
# grows by exactly those operations and the log line counts each.  The drop
# rule is never absent: not one datagram reaches the socket behind it, and
# it counts every datagram sent (so its counter never went down either).
# A kill -9 in the middle of sgnicd's own rehash of the big matcher (steps
# of 16 rules) is settled by the next start: the kernel sees exactly the
# moves that were left, and one matcher with every rule remains.
#
# The kernel's rule_ops is the exhaustive check (a rule's id, match or
# action cannot change but by a delete, insert or move); rule contents are
# compared for a sample: the first 100 rules of the big matcher and every
# rule of the small ones.  Dumping all N rules as JSON costs ~30 s each time
# in TCG.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd
need_sgnicctl

N=${SGNIC_RESTART_RULES:-10000}
[ "$N" -ge 200 ] || fail "SGNIC_RESTART_RULES must be at least 200"

# rules_file FIRST COUNT: `rule load` lines for the big matcher's rules
# FIRST..FIRST+COUNT-1, from 172.16.0.0 (never the stream's 10.10.0.1).
rules_file() {
	awk -v m="$BIG" -v f="$1" -v n="$2" 'BEGIN { for (i = f; i < f + n; i++)
		printf "matcher %d dir rx ipv4-src 172.%d.%d.%d action drop\n", m, 16 + i / 65536, (i / 256) % 256, i % 256 }'
}

# snapshot NAME: the kernel's view, in one sgnic-nl per namespace (each
# start of the sanitizer build costs in TCG):
#   /tmp/NAME.matchers  "id cookie owner prio rx_rules rx_log tx_log
#                        resize_target resize_source template" of sgnic1
#   /tmp/NAME.rules     "id cookie owner matcher dir match actions" of the
#                        sample rules and of every matcher but the big one
# and sets OPS1 (sgnic1's rule_ops) and DROP_PKTS.
snapshot() {
	local m
	{
		echo "dev sgnic1"
		echo "matchers sgnic1"
		for m in $SMALL; do echo "rules sgnic1 $m"; done
		for m in $SAMPLE; do echo "rule-get sgnic1 $m"; done
	} >/tmp/snapshot.cmd
	nl b script /tmp/snapshot.cmd | python3 -c '
import json, sys
name, drop = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in sys.stdin]
dev, matchers, rules = lines[0], lines[1], {}
for l in lines[2:]:
    for r in l if isinstance(l, list) else [l]:
        rules[r["id"]] = r
c = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"))
with open("/tmp/%s.rules" % name, "w") as f:
    for i, r in sorted(rules.items()):
        f.write("%d %d %d %d %s %s %s\n" % (r["id"], r["cookie"], r["owner"], r["matcher"],
                r["direction"], c(r["match"]), c(r["actions"])))
with open("/tmp/%s.matchers" % name, "w") as f:
    for m in matchers:
        f.write("%d %d %d %d %d %d %d %d %d %s\n" % (m["id"], m["cookie"], m["owner"],
                m["priority"], m["rx"]["rules"], m["rx"]["size_log"], m["tx"]["size_log"],
                m["resize_target"], m["resize_source"], c(m["template"])))
pkts = rules[int(drop)]["rx"]["packets"] if drop else "-"
print(dev["rule_ops"], pkts)' "$1" "${DROP_ID:-}" >/tmp/snapshot.out
	read -r OPS1 DROP_PKTS </tmp/snapshot.out
}

# col FILE KEYCOL KEY COLS...: columns COLS of the lines whose column KEYCOL is KEY.
col() {
	local file=$1 kc=$2 k=$3
	shift 3
	awk -v k="$k" -v kc="$kc" -v cols="$*" \
		'BEGIN { n = split(cols, c, " ") } $kc == k { s = $c[1]; for (i = 2; i <= n; i++) s = s " " $c[i]; print s }' "$file"
}

# wait_adopt_line: the start just made wrote one more "adopted (start)"
# line; it goes to ADOPT.
ADOPT_LINES=0
wait_adopt_line() {
	local n
	n=$(grep -c 'adopted (start)' "$SGNICD_LOG" || true)
	[ "$n" = $((ADOPT_LINES + 1)) ] ||
		fail "expected one more 'adopted (start)' line, the log has $n after $ADOPT_LINES: $(tail -n 5 "$SGNICD_LOG")"
	ADOPT_LINES=$n
	ADOPT=$(grep -o 'adopted (start): .*' "$SGNICD_LOG" | tail -n 1)
	# What the kernel announced about sgnicd's own changes is handled within
	# 200 ms; the checks see the state after that.
	sleep 1
}

# adopt_line TAKEN_M TAKEN_R SETTLED REPLACED DEL_R DEL_M ADD_M ADD_R FOREIGN_M FOREIGN_R [sealed]
# "sealed": taken from the seal of the previous clean stop, no rule read.
adopt_line() {
	echo "adopted (start): $1 matchers and $2 rules taken over as the kernel holds them; $3 resizes settled, $4 rules replaced, $5 rules and $6 matchers deleted, $7 matchers and $8 rules added; $9 matchers and ${10} rules of other owners left alone; 0 matchers waiting for their port, 0 failures${11:+; the rules as the last stop sealed them, none read}"
}

# sealed_stop RULES: the stop just made sealed RULES rules of the one port.
sealed_stop() {
	expect_eq "the stop's seal" "stopping: sealed $1 rules on 1 ports" \
		"$(grep -o 'stopping: sealed.*' "$SGNICD_LOG" | tail -n 1)"
	[ -s "$SGNICD_STATE/seal" ] || fail "no seal in $SGNICD_STATE after a clean stop"
}

step "pair in namespaces (sgnicd serves netns b's sgnic1); system bus; sgnicd"
insmod "$SGNIC_KMOD"
sgnic_pair_netns
start_system_bus
start_sgnicd b
wait_adopt_line
expect_eq "log" "$(adopt_line 0 0 0 0 0 0 0 0 0 0)" "$ADOPT"

step "matcher ipv4-src (prio 2) on sgnic1: 100 RX drop rules, their kernel ids, then $((N - 100)) more"
BIG=$(ctl matcher create dev sgnic1 prio 2 match ipv4-src)
rules_file 0 100 >/tmp/first.txt
expect_eq "rule load" "loaded 100, failed 0" "$(ctl rule load /tmp/first.txt 2>/dev/null)"
SAMPLE=$(nl b rules sgnic1 | jq -r '.[].id' | paste -sd' ')
expect_eq "sample rules" 100 "$(wc -w <<<"$SAMPLE")"
rules_file 100 $((N - 100)) >/tmp/rest.txt
t0=$(date +%s)
expect_eq "rule load" "loaded $((N - 100)), failed 0" "$(ctl rule load /tmp/rest.txt 2>/dev/null)"
echo "    loaded in $(($(date +%s) - t0)) s"

step "matcher ip-proto,l4-dport (prio 1): count+drop for UDP 9999, count for UDP 9001-9003"
DM=$(ctl matcher create dev sgnic1 prio 1 match ip-proto,l4-dport)
DROP_COOKIE=$(ctl rule add matcher "$DM" dir rx ip-proto udp l4-dport 9999 action count drop)
printf 'matcher %d dir rx ip-proto udp l4-dport %d action count\n' "$DM" 9001 "$DM" 9002 "$DM" 9003 >/tmp/small.txt
expect_eq "rule load" "loaded 3, failed 0" "$(ctl rule load /tmp/small.txt 2>/dev/null)"
nl b matchers sgnic1 | jq -r '.[] | "\(.id) \(.cookie) \(.owner)"' >/tmp/m
KBIG=$(col /tmp/m 2 "$BIG" 1)
KDM=$(col /tmp/m 2 "$DM" 1)
expect_eq "kernel matchers' cookies and owners" "$BIG 1;$DM 1" "$(cut -d' ' -f2,3 /tmp/m | sort -n | paste -sd';')"
SMALL=$KDM
snapshot start
port_rule() { grep -F "\"l4-dport\":\"$1\"" /tmp/start.rules; } # PORT: the rule line
DROP_ID=$(port_rule 9999 | cut -d' ' -f1)
expect_eq "the drop rule: cookie, owner, matcher, actions" \
	"$DROP_COOKIE 1 $KDM [{\"type\":\"count\"},{\"type\":\"drop\"}]" "$(col /tmp/start.rules 1 "$DROP_ID" 2 3 4 7)"
expect_eq "rules of the big and the small matcher" "$N 4" \
	"$(col /tmp/start.matchers 1 "$KBIG" 5) $(col /tmp/start.matchers 1 "$KDM" 5)"
expect_eq "sample rules in the big matcher, owner 1" 100 "$(awk -v m="$KBIG" '$3 == 1 && $4 == m' /tmp/start.rules | wc -l)"

step "receiver on 10.10.0.2 UDP 9998 and 9999 in b; 5 datagrams to 9998 prove it receives"
in_ns b python3 - /tmp/recv <<'PY' &
import os, select, socket, sys
out = sys.argv[1]
socks = {}
for port in (9998, 9999):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.10.0.2", port))
    socks[s] = port
counts = {9998: 0, 9999: 0}
def write():
    with open(out + ".new", "w") as f:
        f.write("%d %d\n" % (counts[9998], counts[9999]))
    os.rename(out + ".new", out)
write()
while True:
    for s in select.select(list(socks), [], [])[0]:
        s.recv(2048)
        counts[socks[s]] += 1
    write()
PY
receiver=$!
wait_ready "receiver" /tmp/recv '^0 0$'
udp_send a 10.10.0.2 9998 5
for _ in $(seq 50); do
	[ "$(cat /tmp/recv)" = "5 0" ] && break
	sleep 0.2
done
expect_eq "datagrams received on 9998 and 9999" "5 0" "$(cat /tmp/recv)"

step "a steady stream to UDP 9999 (one datagram every 20 ms) through every restart"
rm -f /tmp/stop
udp_send a 10.10.0.2 9999 0 0.02 /tmp/stop >/tmp/sent &
sender=$!
for _ in $(seq 100); do
	[ "$(jget "$(nl b rule-get sgnic1 "$DROP_ID")" .rx.packets)" -gt 0 ] && break
	sleep 0.2
done
snapshot before
# sgnic0 never holds a rule: its rule_ops, which only grows, is 0 at the end.
echo "    rule_ops: sgnic1 $OPS1; drop rule $DROP_ID: $DROP_PKTS packets"
expect_ge "drop rule rx packets once the stream runs" 1 "$DROP_PKTS"
ops1=$OPS1 pkts=$DROP_PKTS

# same_as FILE_BEFORE FILE_AFTER WHAT: the two snapshot files are equal.
same_as() {
	cmp -s "$1" "$2" || fail "$3 changed: $(diff "$1" "$2" | head -n 10)"
	echo "    ok: $3 unchanged ($(wc -l <"$2") lines)"
}

# A SIGTERM stop seals what the kernel holds and the start after it reads
# no rule back; the seal is used once, so the start after a kill -9 (which
# seals nothing) reads every rule.  Both adopt exactly the same.
for how in SIGTERM "kill -9"; do
	step "restart ($how): sgnicd adopts everything, the kernel sees no rule operation"
	t0=$(date +%s)
	sealed=
	if [ "$how" = SIGTERM ]; then
		stop_sgnicd
		sealed_stop $((N + 4))
		sealed=sealed
	else
		kill9_sgnicd
	fi
	start_sgnicd b
	echo "    serving again after $(($(date +%s) - t0)) s"
	wait_adopt_line
	[ ! -e "$SGNICD_STATE/seal" ] || fail "the start left the seal it used"
	expect_eq "log" "$(adopt_line 2 $((N + 4)) 0 0 0 0 0 0 0 0 $sealed)" "$ADOPT"
	snapshot after
	expect_eq "sgnic1 rule_ops" "$ops1" "$OPS1"
	same_as /tmp/before.matchers /tmp/after.matchers "kernel matchers (ids, cookies, owners, prios, rules, sizes, links, templates)"
	same_as /tmp/before.rules /tmp/after.rules "sample rules (ids, cookies, owners, matchers, contents)"
	expect_ge "drop rule rx packets (was $pkts)" "$pkts" "$DROP_PKTS"
	pkts=$DROP_PKTS
done

step "kill -9 in the middle of sgnicd's own rehash (Reserve, steps of 16 rules): the next start finishes it"
stop_sgnicd
echo '{"policy": {"resize-step-rules": 16}}' >/tmp/slow-rehash.json
SGNICD_CONFIG=/tmp/slow-rehash.json start_sgnicd b
wait_adopt_line
expect_eq "log" "$(adopt_line 2 $((N + 4)) 0 0 0 0 0 0 0 0 sealed)" "$ADOPT"
expect_eq "Reserve($((2 * N)), 0): resized" true \
	"$(bus_call "matcher/$BIG" Matcher Reserve tt $((2 * N)) 0 | jq -c '.data[0]')"
# in_target: rules the kernel shows in the resize target of the big matcher.
in_target() {
	nl b matchers sgnic1 | jq --argjson c "$BIG" \
		'[.[] | select(.cookie == $c and .resize_source != 0) | .rx.rules] | add // 0'
}
for _ in $(seq 300); do
	[ "$(in_target)" -gt 0 ] && break
	sleep 0.1
done
kill9_sgnicd
snapshot killed
src=$(awk -v c="$BIG" '$2 == c && $8 != 0 { print $1 }' /tmp/killed.matchers)
left=$(col /tmp/killed.matchers 1 "$src" 5)
echo "    killed with $((N - left)) of $N rules moved into the target, $left left in source $src"
[ -n "$src" ] && [ "$left" -gt 0 ] && [ "$left" -lt "$N" ] ||
	fail "the kill did not land mid-rehash: $(cat /tmp/killed.matchers)"
kops=$OPS1
start_sgnicd b
wait_adopt_line
expect_eq "log" "$(adopt_line 2 $((N + 4)) 1 0 0 0 0 0 0 0)" "$ADOPT"
snapshot before
expect_eq "sgnic1 rule_ops by the start: the $left moves left" "$left" $((OPS1 - kops))
expect_eq "the big matcher's cookie: one matcher, owner, rules, no resize link" "1 $N 0 0" \
	"$(col /tmp/before.matchers 2 "$BIG" 3 5 8 9)"
expect_ge "drop rule rx packets (was $pkts)" "$pkts" "$DROP_PKTS"
# What follows starts from here: the big matcher is the former target.
KBIG=$(col /tmp/before.matchers 2 "$BIG" 1)
ops1=$OPS1 pkts=$DROP_PKTS

step "sgnicd stopped; by hand: (a) another owner's matcher and rule, (b)-(e) changes, (d) a half-done resize"
stop_sgnicd
X_ID=$(port_rule 9001 | cut -d' ' -f1) X_COOKIE=$(port_rule 9001 | cut -d' ' -f2)
Y_ID=$(port_rule 9002 | cut -d' ' -f1) Y_COOKIE=$(port_rule 9002 | cut -d' ' -f2)
echo "    (a) matcher ipv4-dst (owner 0) with rule 4000000"
echo "    (b) rule $X_ID (UDP 9001, cookie $X_COOKIE) deleted"
echo "    (c) rule $Y_ID (UDP 9002, cookie $Y_COOKIE) deleted and added again (cookie, owner 1) with accept, not count"
echo "    (e) rule 4000001 (UDP 9004) of owner 0 added to sgnicd's matcher $KDM"
echo "    (d) target with the big matcher's cookie, owner 1, RX log + 1; resize $KBIG -> target; the 100 sample rules moved"
FM=$(jget "$(nl b matcher-new sgnic1 prio 5 ipv4-dst)" .id)
rx_log=$(col /tmp/before.matchers 1 "$KBIG" 6)
tx_log=$(col /tmp/before.matchers 1 "$KBIG" 7)
T=$(jget "$(nl b matcher-new sgnic1 prio 2 rx-log $((rx_log + 1)) tx-log "$tx_log" \
	cookie "$BIG" owner 1 ipv4-src)" .id)
cat >/tmp/by-hand <<EOF
rule-add sgnic1 $FM 4000000 rx ipv4-dst=192.0.2.1 count
rules-del sgnic1 $X_ID
rules-del sgnic1 $Y_ID
rule-add sgnic1 $KDM $Y_ID rx ip-proto=17 l4-dport=9002 cookie=$Y_COOKIE owner=1 accept
rule-add sgnic1 $KDM 4000001 rx ip-proto=17 l4-dport=9004 count
matcher-resize sgnic1 $KBIG $T
rules-move sgnic1 $KBIG $SAMPLE
EOF
nl b script /tmp/by-hand >/dev/null
SMALL="$KDM $FM"
hops=$OPS1
snapshot hand
expect_eq "(a) the new matcher: cookie, owner, prio, rules" "0 0 5 1" "$(col /tmp/hand.matchers 1 "$FM" 2 3 4 5)"
expect_eq "(a) its rule: cookie, owner, matcher" "0 0 $FM" "$(col /tmp/hand.rules 1 4000000 2 3 4)"
expect_eq "(b) rule $X_ID" "" "$(col /tmp/hand.rules 1 "$X_ID" 1)"
expect_eq "(c) rule $Y_ID: cookie, owner, actions" "$Y_COOKIE 1 [{\"type\":\"accept\"}]" "$(col /tmp/hand.rules 1 "$Y_ID" 2 3 7)"
expect_eq "(e) rule 4000001: cookie, owner, matcher" "0 0 $KDM" "$(col /tmp/hand.rules 1 4000001 2 3 4)"
expect_eq "(d) source $KBIG: cookie, owner, rules, resize target" "$BIG 1 $((N - 100)) $T" "$(col /tmp/hand.matchers 1 "$KBIG" 2 3 5 8)"
expect_eq "(d) target $T: cookie, owner, prio, rules, rx log, resize source" "$BIG 1 2 100 $((rx_log + 1)) $KBIG" \
	"$(col /tmp/hand.matchers 1 "$T" 2 3 4 5 6 9)"
expect_eq "(d) the target's template = the source's" "$(col /tmp/hand.matchers 1 "$KBIG" 10)" "$(col /tmp/hand.matchers 1 "$T" 10)"
# The kernel counts each: (a) 1 insert, (b) 1 delete, (c) 1 delete and 1
# insert, (e) 1 insert, (d) 100 moves.
expect_eq "sgnic1 rule_ops of the changes by hand" 105 $((OPS1 - hops))
hops=$OPS1 pkts=$DROP_PKTS

step "start: the seal no longer holds; the differences are settled, nothing else is touched"
t0=$(date +%s)
start_sgnicd b
echo "    serving after $(($(date +%s) - t0)) s"
wait_adopt_line
expect_eq "why the seal was not used" \
	"adopting: the seal does not describe the kernel: port sgnic1 changed since; reading every rule" \
	"$(grep -o 'adopting: the seal.*' "$SGNICD_LOG" | tail -n 1)"
# Taken over: N+4 less X (gone) and Y (changed); Y's stored version is
# counted as replaced, X as added; (e) is the rule deleted; the matcher and
# rule of (a) are the other owner's.
expect_eq "log" "$(adopt_line 2 $((N + 2)) 1 1 1 0 0 1 1 1)" "$ADOPT"
snapshot settled
# sgnicd's rule operations, exactly: the resize settled by moving the N-100
# rules still in the source (then deleting the empty source: no rule
# operation); (b) 1 insert; (c) 1 delete and 1 insert; (e) 1 delete.  The
# adopted target (RX log one above what sgnicd had chosen) is not rehashed.
expect_eq "sgnic1 rule_ops by the start: N-100 moves, 1 + 2 + 1" $((N - 100 + 4)) $((OPS1 - hops))
expect_eq "matchers with the big one's cookie: id (the target), owner, rules, resize target, source" \
	"$T 1 $N 0 0" "$(col /tmp/settled.matchers 2 "$BIG" 1 3 5 8 9)"
expect_eq "the small matcher: id, owner, rules" "$KDM 1 4" "$(col /tmp/settled.matchers 2 "$DM" 1 3 5)"
expect_eq "kernel matchers" 3 "$(wc -l </tmp/settled.matchers)"
expect_eq "(a) the other owner's matcher, untouched" "$(grep "^$FM " /tmp/hand.matchers)" "$(grep "^$FM " /tmp/settled.matchers)"
expect_eq "(a) its rule, untouched" "$(grep '^4000000 ' /tmp/hand.rules)" "$(grep '^4000000 ' /tmp/settled.rules)"
expect_eq "(e) rule 4000001" "" "$(col /tmp/settled.rules 1 4000001 1)"
expect_eq "(b) cookie $X_COOKIE back: owner, matcher, dir, match, actions" "$(col /tmp/start.rules 1 "$X_ID" 3 4 5 6 7)" \
	"$(col /tmp/settled.rules 2 "$X_COOKIE" 3 4 5 6 7)"
expect_eq "(c) cookie $Y_COOKIE: owner, matcher, dir, match, actions as stored" "$(col /tmp/start.rules 1 "$Y_ID" 3 4 5 6 7)" \
	"$(col /tmp/settled.rules 2 "$Y_COOKIE" 3 4 5 6 7)"
# Every other rule of the sample and of the small matcher: as it was, the
# big matcher's now in the target.
awk -v x="$X_ID" -v y="$Y_ID" -v s="$KBIG" -v t="$T" '$1 != x && $1 != y { if ($4 == s) $4 = t; print }' \
	/tmp/before.rules >/tmp/kept.before
awk -v x="$X_COOKIE" -v y="$Y_COOKIE" '$2 != x && $2 != y && $1 != 4000000' /tmp/settled.rules >/tmp/kept.after
same_as /tmp/kept.before /tmp/kept.after "the other sample rules and the drop rule (ids, cookies, owners, contents)"
expect_ge "drop rule rx packets (was $pkts with sgnicd stopped)" "$pkts" "$DROP_PKTS"

step "stop the stream: no datagram got past the drop rule, which counted every one"
touch /tmp/stop
wait "$sender"
sleep 1
sent=$(cat /tmp/sent)
expect_eq "datagrams received on 9998 and 9999" "5 0" "$(cat /tmp/recv)"
kill "$receiver" 2>/dev/null || true
wait "$receiver" 2>/dev/null || true
# All counted: the rule was never absent, its counter never reset or set back.
expect_eq "drop rule rx packets = datagrams sent" "$sent" "$(jget "$(nl b rule-get sgnic1 "$DROP_ID")" .rx.packets)"
expect_eq "sgnic0 rule_ops (never a rule there)" 0 "$(jget "$(nl a dev sgnic0)" .rule_ops)"
stop_sgnicd
rmmod sgnic
