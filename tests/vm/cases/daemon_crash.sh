#!/usr/bin/env bash
# kill -9 of sgnicd at random points while a 50k-rule load runs over D-Bus
# (20 AddRules calls of 2500, small enough that a kill after 3..17 s finds
# some acknowledged and one in flight), then a restart: every acknowledged
# rule is in the store and in the kernel, each call is all or nothing, and
# nothing foreign is left.  Twice, then the load completes.  (A load of 100k
# is vm.cli_load's; make bench measures 1M.)
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd

CHUNKS=20
CHUNK=2500
SEED=${SGNIC_TEST_SEED:-$(date +%s)}
RANDOM=$SEED
echo "    seed $SEED (SGNIC_TEST_SEED repeats it)"

# load FIRST [must]: AddRules for chunks FIRST.. in order; chunk c is the
# rules 10.c.x.y; each acknowledged chunk is appended to /tmp/acked.  A call
# that fails ends the load (the kill does that); with "must" it fails the test.
# The calls wait as long as sgnicctl's do (300 s, not busctl's 25 s): a 10k
# batch that rehashes tens of thousands of rules outlasts 25 s on the debug
# kernel under TCG.
load() {
	local c i args err
	for c in $(seq "$1" $((CHUNKS - 1))); do
		args=()
		for i in $(seq 0 $((CHUNK - 1))); do
			args+=("$M_PATH" rx 1 ipv4-src "10.$c.$((i / 256)).$((i % 256))" 1 drop)
		done
		if ! err=$(BUS_TIMEOUT=300 bus_call port/sgnic1 Port AddRules 'a(osa(ss)as)' \
			"$CHUNK" "${args[@]}" 2>&1 >/dev/null); then
			[ "${2:-}" != must ] || fail "AddRules of chunk $c: $err"
			return 0
		fi
		echo "$c" >>/tmp/acked
	done
}

# chunks_in_kernel: "c count" per chunk present in the kernel, into
# /tmp/chunks (grep, not jq: 50k rules of JSON are slow to parse in TCG).
chunks_in_kernel() {
	nl - rules sgnic1 | { grep -o '"ipv4-src":"10\.[0-9]*' || true; } | cut -d. -f2 |
		sort -n | uniq -c | awk '{print $2, $1}' >/tmp/chunks
}

# verify: after a restart, store (desired state) and kernel agree, whole
# chunks only, every acknowledged chunk present, nothing else.
verify() {
	local desired kernel acked c n
	desired=$(bus_call "" Manager Describe | jq -r '.data[0]' | jq .rules)
	kernel=$(nl - rules sgnic1 --count | jq .rules)
	expect_eq "kernel rules = rules in the store" "$desired" "$kernel"
	expect_eq "whole calls only (rules mod $CHUNK)" 0 $((desired % CHUNK))
	expect_eq "kernel matchers on sgnic1" 1 "$(nl - matchers sgnic1 | jq length)"
	chunks_in_kernel
	while read -r c n; do
		[ "$n" = "$CHUNK" ] || fail "chunk $c has $n of $CHUNK rules in the kernel"
	done </tmp/chunks
	acked=$(sort -n /tmp/acked 2>/dev/null | tr '\n' ' ')
	for c in $acked; do
		grep -q "^$c " /tmp/chunks || fail "acknowledged chunk $c is missing from the kernel"
	done
	echo "    ok: acknowledged chunks [ ${acked}] all in; $((desired / CHUNK)) chunks in store and kernel"
}

step "module, system bus, sgnicd; matcher ipv4-src/32 on sgnic1"
insmod "$SGNIC_KMOD"
start_system_bus
start_sgnicd
M_PATH=$(bus_call port/sgnic1 Port CreateMatcher 'ua(ss)' 3 1 ipv4-src /32 | jq -r '.data[0]')
: >/tmp/acked

next=0
for round in 1 2; do
	delay=$((3 + RANDOM % 15))
	step "round $round: load from chunk $next, kill -9 after $delay s"
	load "$next" &
	loader=$!
	sleep "$delay"
	kill9_sgnicd
	wait "$loader"
	echo "    acknowledged so far: $(wc -l </tmp/acked) chunks"
	start_sgnicd
	verify
	last=$(tail -n 1 /tmp/chunks | cut -d' ' -f1)
	next=$((${last:--1} + 1))
done

step "finish the load: $((CHUNKS * CHUNK)) rules, then a clean stop"
load "$next" must
verify
expect_eq "rules in the kernel" $((CHUNKS * CHUNK)) "$(nl - rules sgnic1 --count | jq .rules)"
expect_eq "sgnicd RxRules" $((CHUNKS * CHUNK)) "$(bus_prop "$(matcher_of "$M_PATH")" Matcher RxRules)"

# A LoadRules job counts a chunk as loaded only once its store commit
# returned (the commit runs while the next chunk goes to the device): a
# rule it reported must survive kill -9.  The job is this sgnicd's first
# (job/1): the rounds above sent AddRules calls.
LOAD_RULES=20000
LOAD_CHUNK=1000
step "kill -9 during a $LOAD_RULES-rule LoadRules job (chunks of $LOAD_CHUNK): what its Loaded counted survives"
M2_PATH=$(bus_call port/sgnic1 Port CreateMatcher 'ua(ss)' 4 1 ipv4-dst /32 | jq -r '.data[0]')
awk -v n="$LOAD_RULES" -v m="${M2_PATH##*/}" 'BEGIN { for (i = 0; i < n; i++)
	printf "matcher %s dir rx ipv4-dst 10.%d.%d.%d action drop\n", m, 200 + int(i / 65536),
		int(i / 256) % 256, i % 256 }' >/tmp/job-rules.txt
"$SGNICCTL" rule load /tmp/job-rules.txt chunk "$LOAD_CHUNK" >/dev/null 2>&1 &
loader=$!
reported=0
for _ in $(seq 600); do
	reported=$(bus_prop job/1 Job Loaded 2>/dev/null || echo 0)
	[ "${reported:-0}" -gt 0 ] && break
	sleep 0.05
done
kill9_sgnicd
wait "$loader" || true
[ "${reported:-0}" -gt 0 ] || fail "the job reported no rule loaded within 30 s"
[ "$reported" -lt "$LOAD_RULES" ] || echo "    (the job had finished before the kill)"
echo "    Loaded read as $reported just before kill -9"
start_sgnicd
stored=$(bus_prop "$(matcher_of "$M2_PATH")" Matcher RxRules)
in_kernel=$(nl - rules sgnic1 --count | jq .rules)
expect_eq "kernel rules = stored rules" $((CHUNKS * CHUNK + stored)) "$in_kernel"
expect_eq "whole chunks only (stored mod $LOAD_CHUNK)" 0 $((stored % LOAD_CHUNK))
[ "$stored" -ge "$reported" ] || fail "the job reported $reported rules loaded; $stored survived kill -9"
echo "    ok: $stored rules of the job stored and in the kernel, >= the $reported it reported"
stop_sgnicd
rmmod sgnic
