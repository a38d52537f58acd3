#!/usr/bin/env bash
# sgnicd under allocation faults in the module: failslab, filtered to the
# steering caches (as in fault_inject), fails matcher creates, rule inserts
# and the rule copies of rehashes while sgnicctl drives the real daemon.
# Every refused change is reported with the kernel's reason, nothing the
# daemon acknowledged is missing from the kernel, nothing it refused is
# there, and once the faults stop the daemon's view equals the kernel's
# (rule by rule, sizes included), also after a restart.  Needs
# CONFIG_FAILSLAB: the debug kernel of make test-debug.
# vm-cmdline: slub_debug=A,sgnic_steer_rule_*,sgnic_steer_matcher
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd
need_sgnicctl
FS=/sys/kernel/debug/failslab
[ -d "$FS" ] || skip "kernel $(uname -r) has no failslab (run make test-debug)"

N=400
ENOMEM_TEXT="Cannot allocate memory"

# faults PERCENT [INTERVAL TIMES]: that share of sgnic's cache allocations
# fails; with 100 INTERVAL TIMES exactly every INTERVAL-th does, TIMES times.
faults() {
	echo Y >"$FS/cache-filter"
	echo N >"$FS/task-filter"
	echo N >"$FS/ignore-gfp-wait"
	echo 0 >"$FS/verbose"
	echo "${2:-1}" >"$FS/interval"
	echo "${3:--1}" >"$FS/times"
	echo "$1" >"$FS/probability"
}
no_faults() { echo 0 >"$FS/probability"; }

# daemon_is_kernel WHAT M RULES: matcher M holds RULES rules in the daemon
# and in the kernel, the kernel has no other matcher (no stray left by a
# rollback), the sizes agree, and every rule the daemon lists is found in
# the kernel's dump (its counters come from there).
daemon_is_kernel() {
	local what=$1 m=$2 rules=$3 show kernel
	show=$(ctl -j matcher show "$m")
	kernel=$(nl - matchers sgnic1)
	expect_eq "$what: daemon's rule count" "$rules" "$(jget "$show" .rx.rules)"
	expect_eq "$what: kernel's rule count" "$rules" "$(nl - rules sgnic1 --count | jq .rules)"
	expect_eq "$what: kernel matchers" 1 "$(jq length <<<"$kernel")"
	expect_eq "$what: RX size_log daemon = kernel" "$(jq '.[0].rx.size_log' <<<"$kernel")" \
		"$(jget "$show" .rx.size_log)"
	expect_eq "$what: TX size_log daemon = kernel" "$(jq '.[0].tx.size_log' <<<"$kernel")" \
		"$(jget "$show" .tx.size_log)"
	expect_eq "$what: daemon's rules found in the kernel" "$rules" \
		"$(ctl -j rule list matcher "$m" | jq '[.rules[] | select(.installed and .counters != null)] | length')"
}

step "module (its caches marked for failslab), system bus, sgnicd"
insmod "$SGNIC_KMOD"
# Rules come from one cache per size (sgnic_steer_rule_<bytes>).
caches=(sgnic_steer_matcher $(cd /sys/kernel/slab && ls -d sgnic_steer_rule_*))
expect_ge "rule caches" 10 $((${#caches[@]} - 1))
for c in "${caches[@]}"; do
	expect_eq "$c failslab flag" 1 "$(cat "/sys/kernel/slab/$c/failslab")"
done
start_system_bus
start_sgnicd

step "matcher create fails half the time: exit 2 with the kernel's reason, or a whole matcher"
faults 50
ok=0 nomem=0
for i in $(seq 12); do
	ctl_try matcher create dev sgnic1 prio "$i" match ipv4-dst
	if [ "$CTL_RC" -eq 0 ]; then
		ok=$((ok + 1))
	else
		expect_eq "matcher $i: exit status" 2 "$CTL_RC" >/dev/null
		expect_match "matcher $i: reason" "$ENOMEM_TEXT" "$CTL_ERR" >/dev/null
		nomem=$((nomem + 1))
	fi
done
no_faults
echo "    $ok created, $nomem refused"
expect_ge "refused" 1 "$nomem"
expect_ge "created" 1 "$ok"
expect_eq "daemon's matchers" "$ok" "$(ctl -j matcher list | jq '.matchers | length')"
expect_eq "kernel's matchers" "$ok" "$(nl - matchers sgnic1 | jq length)"
for m in $(ctl -j matcher list | jq '.matchers[].id'); do
	ctl matcher delete "$m" >/dev/null
done
expect_eq "kernel's matchers after deleting them" 0 "$(nl - matchers sgnic1 | jq length)"

# AddRules is all or nothing: a steady fault rate would fail every attempt,
# so a fixed number of faults, spread out.  A load reserves room for its
# rules first, so the first N load into tables already grown (no copies);
# the next N make the reservation move those N: inserts and rehash copies,
# about 2N allocations, both under faults.
FAULTS=12
step "$N RX rules, then $N more while every 41st allocation fails, $FAULTS times (inserts and rehash copies)"
M=$(ctl matcher create dev sgnic1 match ipv4-src)
awk -v m="$M" -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	printf "matcher %d dir rx ipv4-src 10.1.%d.%d action drop\n", m, i / 256, i % 256 }' >/tmp/first.txt
awk -v m="$M" -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	printf "matcher %d dir rx ipv4-src 10.3.%d.%d action drop\n", m, i / 256, i % 256 }' >/tmp/rules.txt
expect_eq "the first $N" "loaded $N, failed 0" "$(ctl rule load /tmp/first.txt)"
before=$(ctl -j matcher show "$M" | jq -c '{rehashes, rx: .rx.size_log}')
faults 100 41 "$FAULTS"
ctl_exit 2 -j rule load /tmp/rules.txt
no_faults
loaded=$(jget "$CTL_OUT" .loaded)
failed=$(jget "$CTL_OUT" .failed)
echo "    loaded $loaded, failed $failed; reasons:"
jq -r '.failures[].reason' <<<"$CTL_OUT" | sort | uniq -c | sed 's/^/    /'
expect_eq "faults left unused" 0 "$(cat "$FS/times")"
expect_eq "loaded + failed" "$N" $((loaded + failed))
expect_ge "failed" 1 "$failed"
expect_ge "loaded" $((N - FAULTS)) "$loaded"
expect_eq "every failure names the kernel's reason" "$failed" \
	"$(jq --arg t "$ENOMEM_TEXT" '[.failures[] | select(.reason | contains($t))] | length' <<<"$CTL_OUT")"
# The first N fit 2^10 rows, 2N need 2^11: at least one rehash moved the
# first N under faults, whatever the faults made fail before it.
after=$(ctl -j matcher show "$M" | jq -c '{rehashes, rx: .rx.size_log}')
echo "    before the faulty load $before, after $after"
expect_eq "RX size_log before the faulty load" 10 "$(jget "$before" .rx)"
expect_eq "RX size_log after it" 11 "$(jget "$after" .rx)"
expect_ge "rehashes completed under faults" 1 $(($(jget "$after" .rehashes) - $(jget "$before" .rehashes)))

step "faults off: one more rule heals any stray; the daemon's view is the kernel's"
ctl rule add matcher "$M" dir rx ipv4-src 10.2.0.1 action drop >/dev/null
daemon_is_kernel "after the faulty load" "$M" $((N + loaded + 1))

step "sgnicd restarted: reconcile keeps the same rules"
stop_sgnicd
start_sgnicd
daemon_is_kernel "after the restart" "$M" $((N + loaded + 1))

step "the failed lines load now"
jq -r '.failures[].where' <<<"$CTL_OUT" | sed -n 's/^line \([0-9]*\)$/\1p/p' >/tmp/failed.sed
expect_eq "failed lines found" "$failed" "$(wc -l </tmp/failed.sed)"
sed -n -f /tmp/failed.sed /tmp/rules.txt >/tmp/retry.txt
expect_eq "rule load of the failed lines" "loaded $failed, failed 0" "$(ctl rule load /tmp/retry.txt 2>/dev/null)"
daemon_is_kernel "after the retry" "$M" $((2 * N + 1))

step "flush while half the allocations fail: every rule goes (a shrink may not)"
faults 50
expect_eq "rule flush" "deleted $((2 * N + 1)) rules" "$(ctl rule flush)"
no_faults
expect_eq "daemon's rules" 0 "$(ctl -j matcher show "$M" | jq .rx.rules)"
expect_eq "kernel's rules" 0 "$(nl - rules sgnic1 --count | jq .rules)"
ctl matcher delete "$M" >/dev/null
expect_eq "kernel's matchers" 0 "$(nl - matchers sgnic1 | jq length)"

stop_sgnicd
rmmod sgnic
