#!/usr/bin/env bash
# Fault injection at the steering engine's allocation points: failslab,
# filtered to the module's own caches (sgnic_steer_matcher, sgnic_steer_rule_<size>,
# marked by slub_debug=A at boot), fails matcher create, rule insert and resize
# moves at random.  Every failure is a clean ENOMEM with a message, counters
# agree with the dumps, nothing is half made or lost, and once the faults
# stop everything works (kmemleak, KASAN and lockdep watch the run).  Needs
# CONFIG_FAILSLAB: the debug kernel of make test-debug.  (fail_function is
# not used: on 6.1 its kprobe handler draws random numbers in NMI context,
# which lockdep reports as an inconsistent lock state of the crng.)
# vm-cmdline: slub_debug=A,sgnic_steer_rule_*,sgnic_steer_matcher
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl
FS=/sys/kernel/debug/failslab
[ -d "$FS" ] || skip "kernel $(uname -r) has no failslab (run make test-debug)"

# faults PERCENT [INTERVAL]: sgnic's cache allocations fail that often (of
# every INTERVAL-th allocation; 100 and N: exactly every N-th).
faults() {
	echo Y >"$FS/cache-filter"
	echo N >"$FS/task-filter"
	echo N >"$FS/ignore-gfp-wait"
	echo 0 >"$FS/verbose"
	echo "${2:-1}" >"$FS/interval"
	echo -1 >"$FS/times"
	echo "$1" >"$FS/probability"
}
no_faults() { echo 0 >"$FS/probability"; }

# consistent WHAT: the port's counts equal what the dumps list.
consistent() {
	local dev
	dev=$(nl - dev sgnic1)
	expect_eq "$1: matchers counted = dumped" "$(jget "$dev" .matchers)" \
		"$(nl - matchers sgnic1 | jq length)"
	expect_eq "$1: RX rules counted = dumped" "$(jget "$dev" .rx.rules)" \
		"$(nl - rules sgnic1 | jq '[.[] | select(.direction | test("rx|both"))] | length')"
}

step "module loaded; its caches marked for failslab"
insmod "$SGNIC_KMOD"
# slub_debug=A on the kernel command line (the vm-cmdline line above)
# marks the two caches when the module creates them.
# Rules come from one cache per size (sgnic_steer_rule_<bytes>).
caches=(sgnic_steer_matcher $(cd /sys/kernel/slab && ls -d sgnic_steer_rule_*))
expect_ge "rule caches" 10 $((${#caches[@]} - 1))
for c in "${caches[@]}"; do
	expect_eq "$c failslab flag" 1 "$(cat "/sys/kernel/slab/$c/failslab")"
done

step "matcher create fails half the time: ENOMEM or a whole matcher"
faults 50
ok=0 nomem=0
for i in $(seq 20); do
	if out=$(nl - matcher-new sgnic1 id "$i" prio 1 rx-log 4 ipv4-dst 2>&1); then
		ok=$((ok + 1))
	else
		expect_match "matcher $i error" "ENOMEM|Cannot allocate memory" "$out" >/dev/null
		nomem=$((nomem + 1))
	fi
done
no_faults
echo "    $ok created, $nomem refused with ENOMEM"
expect_ge "refused" 1 "$nomem"
expect_eq "matchers in the dump" "$ok" "$(nl - matchers sgnic1 | jq length)"
consistent "after matcher faults"
for id in $(nl - matchers sgnic1 | jq '.[].id'); do nl - matcher-del sgnic1 "$id" >/dev/null; done

step "rule insert fails 30% of the time: each rule in or ENOMEM, counts agree"
nl - matcher-new sgnic1 id 1 prio 1 rx-log 10 ipv4-dst >/dev/null
faults 30
r=$(nl - rules-gen sgnic1 1 --count 1000 --dir rx --vary ipv4-dst=10.0.0.1 --continue)
no_faults
applied=$(jget "$r" .applied)
failed=$(jget "$r" .failed)
echo "    $applied applied, $failed failed"
expect_eq "applied + failed" 1000 $((applied + failed))
expect_ge "failed" 1 "$failed"
expect_eq "every failure ENOMEM" "$failed" "$(jq '[.results[] | select(.errno == 12)] | length' <<<"$r")"
expect_eq "rules in the dump" "$applied" "$(nl - rules sgnic1 --count | jq .rules)"
consistent "after rule faults"

step "resize under faults: the batch that fails moves nothing, earlier ones stay moved"
nl - matcher-new sgnic1 id 2 prio 1 rx-log 12 ipv4-dst >/dev/null
nl - matcher-resize sgnic1 1 2 >/dev/null
# Every 120th rule copy fails: batches of 50 succeed twice, the third fails.
faults 100 120
out=$(nl - rules-move sgnic1 1 --all --batch 50 2>&1) && fail "the move did not meet its fault: $out"
expect_match "failed move batch" "ENOMEM|Cannot allocate memory" "$out"
no_faults
total=$(nl - rules sgnic1 --count | jq .rules)
in1=$(nl - rules sgnic1 1 --count | jq .rules)
in2=$(nl - rules sgnic1 2 --count | jq .rules)
echo "    after the faulty move: $in1 in matcher 1, $in2 in matcher 2"
expect_eq "rules moved before the failing batch" 100 "$in2"
expect_eq "every rule in exactly one matcher" "$total" $((in1 + in2))
expect_eq "no rule lost" "$applied" "$total"
nl - rules-move sgnic1 1 --all >/dev/null
nl - matcher-del sgnic1 1 >/dev/null
expect_eq "rules in matcher 2 after the move completes" "$total" "$(nl - rules sgnic1 2 --count | jq .rules)"
consistent "after resize faults"
ids=$(nl - rules sgnic1 | jq -r '.[].id' | tr '\n' ' ')
# shellcheck disable=SC2086
nl - rules-del sgnic1 $ids >/dev/null
nl - matcher-del sgnic1 2 >/dev/null

rmmod sgnic
