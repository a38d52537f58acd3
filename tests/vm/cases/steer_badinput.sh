#!/usr/bin/env bash
# Bad input to the sgnic family: each case answers its errno with an extack
# message naming what failed, and changes nothing; a unit bulk request that
# fails is undone, a "continue" one reports its failures.  Then a fuzz run of
# random and mutated messages leaves the kernel log clean (the harness checks).
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl

FUZZ=${SGNIC_STEER_FUZZ:-20000}

# state: everything the family reports, for "nothing changed".
state() { nl - state; }

# bad ERRNO REGEX ARGS...: sgnic-nl ARGS must fail with ERRNO and an extack
# message matching REGEX, and change nothing.
bad() {
	local errno=$1 re=$2 before out
	shift 2
	before=$(state)
	out=$(nl_err - "$@")
	expect_match "$* -> $errno" "^sgnic-nl: $errno: .*$re" "$out"
	[ "$(state)" = "$before" ] || fail "$* changed the state"
}

step "sgnic1: matcher 1 (ipv4-dst, l4-dport), matcher 2 (ipv4-dst/24), rule 1"
insmod "$SGNIC_KMOD"
ip link set sgnic1 up
nl - matcher-new sgnic1 id 1 rx-log 4 tx-log 4 ipv4-dst l4-dport >/dev/null
nl - matcher-new sgnic1 id 2 rx-log 4 ipv4-dst/255.255.255.0 >/dev/null
nl - rule-add sgnic1 1 1 rx ipv4-dst=10.0.0.1 l4-dport=53 count >/dev/null

step "unknown device or matcher"
bad ENODEV "not an sgnic port" dev nosuchdev
bad ENODEV "not an sgnic port" dev lo
bad ENODEV "not an sgnic port" matcher-new lo rx-log 2 ipv4-dst
bad ENOENT "unknown matcher id" rule-add sgnic1 9 5 rx ipv4-dst=10.0.0.5 count
bad ENOENT "unknown matcher id" matcher-get sgnic1 9
bad ENOENT "unknown matcher id" matcher-del sgnic1 9
bad ENOENT "unknown resize-target" matcher-resize sgnic1 1 9
bad ENOENT "no such rule" rule-get sgnic1 77
bad ENOENT "rule #1 \\(id 77\\): no such rule" rules-del sgnic1 1 77
bad EINVAL "last-id is below id" rules sgnic1 1 --from 5 --to 4

step "rules that do not fit the template"
bad EINVAL "rule #0 \\(id 5\\): match field not in the matcher's template" \
	rule-add sgnic1 1 5 rx ipv4-src=10.0.0.5 count
bad EINVAL "rule #0 \\(id 5\\): match value outside the template mask" \
	rule-add sgnic1 2 5 rx ipv4-dst=10.0.0.5 count
bad EINVAL "rule #0 \\(id 5\\): missing or empty direction" \
	rule-add sgnic1 1 5 none ipv4-dst=10.0.0.5 count
bad EINVAL "rule #0 \\(id 5\\): action after a terminal action" \
	rule-add sgnic1 1 5 rx ipv4-dst=10.0.0.5 drop count
bad EINVAL "rule #0 \\(id 5\\): queue index beyond" \
	rule-add sgnic1 1 5 rx ipv4-dst=10.0.0.5 queue=99
bad EINVAL "rule #0 \\(id 5\\): the rule needs at least one action" \
	rule-add sgnic1 1 5 rx ipv4-dst=10.0.0.5
bad EINVAL "rule #0 \\(id 5\\): mark and queue are RX actions: not in a TX rule" \
	rule-add sgnic1 1 5 tx ipv4-dst=10.0.0.5 count mark=7
bad EINVAL "rule #0 \\(id 5\\): mark and queue are RX actions: not in a TX rule" \
	rule-add sgnic1 1 5 both ipv4-dst=10.0.0.5 queue=0

step "duplicates"
bad EEXIST "rule #0 \\(id 1\\): rule id already in use" \
	rule-add sgnic1 1 1 rx ipv4-dst=10.0.0.9 count
bad EEXIST "rule #0 \\(id 6\\): a rule with the same direction and match" \
	rule-add sgnic1 1 6 both ipv4-dst=10.0.0.1 l4-dport=53 count
bad EEXIST "matcher id already in use" matcher-new sgnic1 id 1 rx-log 2 ipv4-dst

step "sizes and counts beyond the caps"
bad ERANGE "size-log beyond the caps" matcher-new sgnic1 rx-log 25 ipv4-dst
bad ERANGE "" matcher-new sgnic1 tx-log 32 ipv4-dst
for i in $(seq 3 64); do echo "matcher-new sgnic1 id $i ipv4-dst"; done >/tmp/m-new
for i in $(seq 3 64); do echo "matcher-del sgnic1 $i"; done >/tmp/m-del
nl - script /tmp/m-new >/dev/null
expect_eq "matchers on sgnic1" 64 "$(jget "$(nl - dev sgnic1)" .matchers)"
bad EDQUOT "too many matchers" matcher-new sgnic1 id 65 ipv4-dst
nl - script /tmp/m-del >/dev/null
bad EBUSY "still has rules" matcher-del sgnic1 1
bad EINVAL "different template" matcher-resize sgnic1 1 2
bad EINVAL "no resize target" rules-move sgnic1 1 1

step "missing and malformed (nested) attributes"
# matcher: 1 id, 2 ifindex, 4 template{1 field, 2 mask}; rules: 1 ifindex,
# 2 matcher-id, 4 rule{1 id, 4 direction, 5 match{1 field, 2 value}, 6 action{1 type, 2 mark}}
bad EINVAL "missing ifindex" raw matcher-new nest:4{ u32:1=5 bytes:2=ffffffff }
bad EINVAL "at least one field" raw matcher-new u32:2=@sgnic1
bad EINVAL "template entry needs field and mask" raw matcher-new u32:2=@sgnic1 nest:4{ bytes:2=ffffffff }
bad EINVAL "template mask" raw matcher-new u32:2=@sgnic1 nest:4{ u32:1=5 bytes:2=ffff }
bad EINVAL "unknown template field" raw matcher-new u32:2=@sgnic1 nest:4{ u32:1=11 bytes:2=ff }
bad EINVAL "template field given twice" raw matcher-new u32:2=@sgnic1 nest:4{ u32:1=5 bytes:2=ffffffff } nest:4{ u32:1=5 bytes:2=ffffffff }
bad EINVAL "invalid attribute length" raw matcher-new u32:2=@sgnic1 bytes:3=0100 nest:4{ u32:1=5 bytes:2=ffffffff }
bad EINVAL "" raw matcher-new u32:2=@sgnic1 u32:9=1 nest:4{ u32:1=5 bytes:2=ffffffff }
bad ERANGE "" raw matcher-new u32:2=@sgnic1 nest:4{ u32:1=7 bytes:2=ffffffffffffffffffffffffffffffffff }
bad EINVAL "missing matcher-id" raw rule-new u32:1=@sgnic1 nest:4{ u32:1=5 }
bad EINVAL "rule #0 \\(id 0\\): missing rule id" raw rule-new u32:1=@sgnic1 u32:2=1 nest:4{ u32:4=1 }
bad EINVAL "rule #0 \\(id 5\\): match entry needs field and value" raw rule-new u32:1=@sgnic1 u32:2=1 nest:4{ u32:1=5 u32:4=1 nest:5{ u32:1=5 } nest:6{ u32:1=1 } }
bad EINVAL "rule #0 \\(id 5\\): match value: wrong length" raw rule-new u32:1=@sgnic1 u32:2=1 nest:4{ u32:1=5 u32:4=1 nest:5{ u32:1=5 bytes:2=0a000005ff } nest:6{ u32:1=1 } }
bad EINVAL "rule #0 \\(id 5\\): match field given twice" raw rule-new u32:1=@sgnic1 u32:2=1 nest:4{ u32:1=5 u32:4=1 nest:5{ u32:1=5 bytes:2=0a000005 } nest:5{ u32:1=5 bytes:2=0a000006 } nest:6{ u32:1=1 } }
bad EINVAL "rule #0 \\(id 5\\): action without type" raw rule-new u32:1=@sgnic1 u32:2=1 nest:4{ u32:1=5 u32:4=1 nest:6{ u32:2=7 } }
bad EINVAL "rule #0 \\(id 5\\): mark is required by mark" raw rule-new u32:1=@sgnic1 u32:2=1 nest:4{ u32:1=5 u32:4=1 nest:6{ u32:1=2 } }
bad EINVAL "rule #0 \\(id 5\\): unknown action type" raw rule-new u32:1=@sgnic1 u32:2=1 nest:4{ u32:1=5 u32:4=1 nest:6{ u32:1=9 } }
bad EINVAL "" raw rule-new u32:1=@sgnic1 u32:2=1 nest:4{ u32:1=5 u32:4=4 nest:6{ u32:1=1 } }
bad EINVAL "rule-del takes the rule id only" raw rule-del u32:1=@sgnic1 nest:4{ u32:1=1 u32:4=1 }
bad EINVAL "" raw rule-new u32:1=@sgnic1 u32:2=1 u32:3=2 nest:4{ u32:1=5 u32:4=1 nest:6{ u32:1=1 } }
bad EINVAL "missing resize-target" raw matcher-resize u32:2=@sgnic1 u32:1=1
bad EINVAL "" raw portal-get --dump u32:1=1

step "a unit bulk request failing at its 4th rule is undone"
cat >/tmp/rules <<'RULES'
100 rx ipv4-dst=10.1.0.100 l4-dport=1 count
101 rx ipv4-dst=10.1.0.101 l4-dport=1 count
102 tx ipv4-dst=10.1.0.102 l4-dport=1 drop
103 rx ipv4-dst=10.1.0.100 l4-dport=1 count
104 rx ipv4-dst=10.1.0.104 l4-dport=1 count
RULES
bad EEXIST "rule #3 \\(id 103\\): a rule with the same direction and match" \
	rules-add sgnic1 1 --file /tmp/rules
for id in 100 101 102; do
	expect_match "rule $id undone" "ENOENT" "$(nl_err - rule-get sgnic1 $id)"
done

step "the same request with the continue flag: 4 applied, rule 103 reported"
r=$(nl - rules-add sgnic1 1 --file /tmp/rules --continue)
expect_eq "applied" 4 "$(jget "$r" .applied)"
expect_eq "failed" 1 "$(jget "$r" .failed)"
expect_eq "failed rule index" 3 "$(jget "$r" '.results[0].index')"
expect_eq "failed rule id" 103 "$(jget "$r" '.results[0].id')"
expect_eq "failed rule errno" 17 "$(jget "$r" '.results[0].errno')"
expect_match "failed rule message" "same direction and match" "$(jget "$r" '.results[0].msg')"

step "unit delete with one unknown id deletes nothing"
bad ENOENT "rule #2 \\(id 999\\): no such rule" rules-del sgnic1 100 101 999
nl - rules-del sgnic1 100 101 102 104 >/dev/null

# steer_gen: sgnic1's, digit for digit (a u64 that jq would round).
steer_gen() { nl - dev sgnic1 | grep -o '"steer_gen":[0-9]*' | cut -d: -f2; }

step "steer-gen moves with every change (every 'bad' above left it), with none else"
g0=$(steer_gen)
nl - rules >/dev/null
nl - matchers >/dev/null
expect_eq "steer_gen after dumps" "$g0" "$(steer_gen)"
nl - rule-add sgnic1 1 105 rx ipv4-dst=10.1.0.105 l4-dport=1 count >/dev/null
g1=$(steer_gen)
[ "$g1" != "$g0" ] || fail "a rule added left steer_gen at $g0"
nl - rules-del sgnic1 105 >/dev/null
[ "$(steer_gen)" != "$g1" ] || fail "a rule deleted left steer_gen at $g1"
g1=$(steer_gen)
rmmod sgnic
insmod "$SGNIC_KMOD"
ip link set sgnic1 up
nl - matcher-new sgnic1 id 1 rx-log 4 tx-log 4 ipv4-dst l4-dport >/dev/null
nl - matcher-new sgnic1 id 2 rx-log 4 ipv4-dst/255.255.255.0 >/dev/null
g2=$(steer_gen)
echo "    steer_gen $g0 -> $g1; after a reload and the same two matchers: $g2"
[ "$g2" != "$g1" ] || fail "steer_gen after a module reload repeats $g1"

step "fuzz: $FUZZ random and mutated messages"
r=$(nl - fuzz sgnic1 "$FUZZ" 7)
echo "    answers: $(jget "$r" .answers)"
expect_eq "messages" "$FUZZ" "$(jget "$r" .messages)"
nl - rules >/dev/null
nl - matchers >/dev/null
step "fuzz without CAP_NET_ADMIN: $((FUZZ / 4)) messages, every change refused"
r=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- \
	env ASAN_OPTIONS=detect_leaks=0 "$SGNIC_NL" fuzz sgnic1 $((FUZZ / 4)) 11)
echo "    answers: $(jget "$r" .answers)"
expect_eq "unprivileged messages" $((FUZZ / 4)) "$(jget "$r" .messages)"
expect_ge "unprivileged EPERM answers" 1 "$(jget "$r" '.answers.EPERM // 0')"
out=$(in_ns - ping -c 1 -W 1 127.0.0.1) || fail "system unwell after fuzzing"
rmmod sgnic
