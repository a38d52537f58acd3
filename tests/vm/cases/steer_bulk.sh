#!/usr/bin/env bash
# Bulk insert of many rules (SGNIC_STEER_BULK_RULES, default 1M) into a matcher
# large enough for them: all are in the dump, in id order; kernel memory per
# rule (slab and vmalloc delta) stays within the budget; device pages follow
# the geometry.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl

N=${SGNIC_STEER_BULK_RULES:-1000000}
LOG=${SGNIC_STEER_BULK_LOG:-20}
BUDGET=96	# bytes of kernel memory per rule (#17: a lean rule, nftables ~83 B)

meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

step "module loaded, matcher 1 on sgnic1 with RX log $LOG"
insmod "$SGNIC_KMOD"
ip link set sgnic1 up
nl - matcher-new sgnic1 id 1 rx-log "$LOG" tx-log 0 ipv4-dst l4-dport >/dev/null
sync; echo 3 >/proc/sys/vm/drop_caches
slab0=$(meminfo_kb Slab); vm0=$(meminfo_kb VmallocUsed)

step "insert $N RX rules in bulk (64 KiB messages, unit semantics)"
r=$(nl - rules-gen sgnic1 1 --count "$N" --dir rx --set l4-dport=53 --vary ipv4-dst=10.0.0.0 --action count)
expect_eq "rules applied" "$N" "$(jget "$r" .applied)"
echo "    inserted in $(jget "$r" .seconds) s"
sync; echo 3 >/proc/sys/vm/drop_caches
slab1=$(meminfo_kb Slab); vm1=$(meminfo_kb VmallocUsed)
slab_per_rule=$(((slab1 - slab0) * 1024 / N))
total_per_rule=$(((slab1 - slab0 + vm1 - vm0) * 1024 / N))
echo "    slab delta $((slab1 - slab0)) kB, vmalloc delta $((vm1 - vm0)) kB"
echo "    kernel memory per rule: slab $slab_per_rule B, slab + vmalloc $total_per_rule B"
if memory_debug_kernel; then
	echo "    budget $BUDGET B not checked: kmemleak/KASAN add their own memory to every object"
else
	[ "$total_per_rule" -le "$BUDGET" ] || fail "kernel memory per rule $total_per_rule B > $BUDGET B"
	echo "    ok: kernel memory per rule $total_per_rule B <= $BUDGET B"
fi

step "device pages of the matcher and the port"
m=$(nl - matcher-get sgnic1 1)
d=$(nl - dev sgnic1)
echo "    matcher 1: RX $(jget "$m" .rx.pages) pages, TX $(jget "$m" .tx.pages) pages"
expect_eq "matcher rx rules" "$N" "$(jget "$m" .rx.rules)"
expect_eq "port rx rules" "$N" "$(jget "$d" .rx.rules)"
expect_eq "port rx pages = matcher's" "$(jget "$m" .rx.pages)" "$(jget "$d" .rx.pages)"
# 2^LOG rows x 4 x 64 B in 4 KiB pages, plus 2^(LOG-5) x 16 x 64 B.
expect_eq "rx pages from the geometry" $(((1 << (LOG + 2)) / 64 + (1 << (LOG - 1)) / 64)) "$(jget "$m" .rx.pages)"
expect_eq "tx rules (RX-only rules)" 0 "$(jget "$m" .tx.rules)"

step "dump: every rule once, in id order, across many messages"
c=$(nl - rules sgnic1 --count)
expect_eq "rules in the dump" "$N" "$(jget "$c" .rules)"
expect_eq "dump in id order" true "$(jget "$c" .ordered)"

step "a dump of a range of ids: exactly those rules, of that matcher"
lo=$((N / 2)); hi=$((N / 2 + 99))
c=$(nl - rules sgnic1 1 --from "$lo" --to "$hi" --count)
expect_eq "rules in [$lo, $hi]" 100 "$(jget "$c" .rules)"
r=$(nl - rules sgnic1 1 --from "$lo" --to "$hi")
expect_eq "their ids" "$(seq "$lo" "$hi" | jq -sc .)" "$(jq -c '[.[].id]' <<<"$r")"
expect_eq "from the last id on: one rule" 1 "$(jget "$(nl - rules sgnic1 --from "$N" --count)" .rules)"
expect_eq "a range past the last id: none" 0 \
	"$(jget "$(nl - rules sgnic1 --from $((N + 1)) --to $((N + 10)) --count)" .rules)"

step "a sample rule round-trips"
rule=$(nl - rule-get sgnic1 $((N / 2)))
expect_eq "rule $((N / 2)) ipv4-dst" "$(python3 -c "import ipaddress; print(ipaddress.ip_address('10.0.0.0') + $((N / 2 - 1)))")" "$(jget "$rule" '.match["ipv4-dst"]')"

step "rmmod with $N rules in place"
rmmod sgnic
