#!/usr/bin/env bash
# A rule flood inside a memory cgroup: sgnic.ko charges a rule's memory to
# the caller's cgroup, so the cgroup's limit stops the flood: with ENOMEM
# naming the rule when a rule's allocation meets the limit (the module asks
# for no OOM kill), or by the cgroup's own OOM killer when the flooding
# process's next allocation does.  Nothing outside the cgroup is touched (no
# global OOM); what the rules took is the cgroup's (memory.stat slab) and
# goes back when they go; the rules that went in are whole (a refused
# request left nothing behind) and a caller outside the cgroup still inserts.
# The OOM report of the second outcome prints a call trace:
# vm-allow-kernel-log: \] Call Trace:$
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl

CG=/tmp/cgroup2
LIMIT_MB=96
N=3000000	# ~220 MB of rules: far beyond the limit

stat_mb() { awk -v k="$2" '$1 == k { print int($2 / 1048576) }' "$CG/$1/memory.stat"; }
event() { awk -v k="$2" '$1 == k { print $2 }' "$CG/$1/memory.events"; }

step "module, matcher 1 on sgnic1 (RX size_log 20), cgroup v2 'flood' with memory.max ${LIMIT_MB}M"
insmod "$SGNIC_KMOD"
ip link set sgnic1 up
nl - matcher-new sgnic1 id 1 rx-log 20 tx-log 0 ipv4-dst l4-dport >/dev/null
mkdir -p "$CG"
mountpoint -q "$CG" || mount -t cgroup2 none "$CG" || skip "no cgroup v2 in this kernel"
grep -qw memory "$CG/cgroup.controllers" || skip "cgroup v2 without the memory controller"
echo +memory >"$CG/cgroup.subtree_control"
mkdir "$CG/flood"
echo "${LIMIT_MB}M" >"$CG/flood/memory.max"

step "flood: $N rules from inside the cgroup, stopped by its limit"
# No ASan quarantine: the tool's own memory stays flat, so the limit is
# reached by the rules, not by the process.
set +e
err=$(ASAN_OPTIONS=quarantine_size_mb=0 sh -c "echo \$\$ >$CG/flood/cgroup.procs && exec \"\$0\" \"\$@\"" \
	"$SGNIC_NL" rules-gen sgnic1 1 --count "$N" --dir rx --set l4-dport=53 \
	--vary ipv4-dst=10.0.0.0 --action count 2>&1 >/dev/null)
rc=$?
set -e
echo "    sgnic-nl exit $rc: ${err:-(killed)}"
[ "$rc" -ne 0 ] || fail "the flood was not stopped"
expect_ge "cgroup max events (the limit was hit)" 1 "$(event flood max)"
if [ "$(event flood oom_kill)" = 0 ]; then
	expect_match "the refusal" "ENOMEM.*rule #[0-9]+ \\(id [0-9]+\\): out of memory for the rule" "$err"
else
	# Killed by its cgroup's OOM killer, which chose within the cgroup.
	expect_eq "exit status of the killed flood" 137 "$rc"
	expect_match "the OOM kill stayed in the cgroup" "constraint=CONSTRAINT_MEMCG.*oom_memcg=/flood" \
		"$(dmesg | grep -m1 'oom-kill:')"
fi
expect_eq "OOM kills in the system = the cgroup's (none outside)" "$(event flood oom_kill)" \
	"$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)"

step "the rules in are whole and counted; their memory is the cgroup's"
m=$(nl - matcher-get sgnic1 1)
rules=$(jget "$m" .rx.rules)
expect_ge "rules in" 100000 "$rules"
[ "$rules" -lt "$N" ] || fail "all $N rules went in"
expect_eq "rules in the dump" "$rules" "$(jget "$(nl - rules sgnic1 1 --count)" .rules)"
expect_eq "the port's RX rules" "$rules" "$(jget "$(nl - dev sgnic1)" .rx.rules)"
slab=$(stat_mb flood slab)
echo "    $rules rules; the cgroup's slab $slab MiB, memory.current $(($(cat "$CG/flood/memory.current") >> 20)) MiB"
# A rule here is 64 B of its cache plus its xarray slot.
expect_ge "the cgroup's slab (MiB) >= 64 B per rule" $((rules * 64 >> 20)) "$slab"

step "outside the cgroup a rule still goes in"
nl - rule-add sgnic1 1 4000000 rx ipv4-dst=192.0.2.1 l4-dport=53 count >/dev/null
expect_eq "the port's RX rules" $((rules + 1)) "$(jget "$(nl - dev sgnic1)" .rx.rules)"

step "rmmod: the cgroup gets its memory back"
rmmod sgnic
after=$(stat_mb flood slab)
echo "    the cgroup's slab after rmmod: $after MiB (was $slab)"
[ "$after" -le $((slab / 10)) ] || fail "the cgroup still holds $after MiB of slab"
rmdir "$CG/flood"
