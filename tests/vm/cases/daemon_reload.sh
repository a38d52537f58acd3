#!/usr/bin/env bash
# Module unload and reload under a running sgnicd: the daemon notices the
# family leave (nlctrl), does not load the module back by itself, and when
# the operator loads it again puts every matcher and rule back unasked.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd

# wait_for WHAT CMD...: up to 30 s for CMD to succeed.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 150); do
		"$@" && return 0
		sleep 0.2
	done
	fail "$what: not within 30 s"
}

kernel_rules() { nl - rules sgnic1 2>/dev/null | jq length; }
has_rules() { [ "$(kernel_rules)" = "$1" ]; }

step "module, system bus, sgnicd; a matcher with 30 rules on sgnic1"
insmod "$SGNIC_KMOD"
start_system_bus
start_sgnicd
m=$(bus_call port/sgnic1 Port CreateMatcher 'ua(ss)' 3 1 ipv4-dst /32 | jq -r '.data[0]')
args=()
for i in $(seq 30); do
	args+=("$m" both 1 ipv4-dst "192.0.2.$i" 1 count)
done
bus_call port/sgnic1 Port AddRules 'a(osa(ss)as)' 30 "${args[@]}" >/dev/null
expect_eq "kernel rules before" 30 "$(kernel_rules)"
# The matcher's rule ids, from the rule listing (Matcher.Describe gives a count).
rule_ids() {
	bus_call "" Manager DescribeRules sttu "" "${m##*/}" 0 0 | jq -r '.data[0]' | jq -c '[.rules[].id]'
}
ids_before=$(rule_ids)
expect_eq "rules listed" 30 "$(jq length <<<"$ids_before")"

step "rmmod: sgnicd keeps running, sees no ports, does not reload the module"
rmmod sgnic
wait_for "sgnicd notices" grep -q "sgnic family unregistered" "$SGNICD_LOG"
wait_for "ports gone from D-Bus" \
	bash -c '[ "$(busctl --system --json=short call org.sgnic.Steering1 /org/sgnic/Steering1 org.sgnic.Steering1.Manager ListPorts | jq ".data[0] | length")" = 0 ]'
sleep 2
kill -0 "$SGNICD_PID" || fail "sgnicd died with the module"
expect_eq "sgnic.ko after rmmod" "" "$(lsmod | awk '$1 == "sgnic"')"
desc=$(bus_call "" Manager Describe | jq -r '.data[0]')
expect_eq "desired rules kept while the module is away" 30 "$(jq .rules <<<"$desc")"

step "insmod: every matcher and rule is back, unasked"
insmod "$SGNIC_KMOD"
wait_for "rules back in the kernel" has_rules 30
expect_eq "kernel matchers on sgnic1" 1 "$(nl - matchers sgnic1 | jq length)"
km=$(nl - matchers sgnic1)
expect_eq "RX rules" 30 "$(jq '.[0].rx.rules' <<<"$km")"
expect_eq "TX rules" 30 "$(jq '.[0].tx.rules' <<<"$km")"
ids_after=$(rule_ids)
expect_eq "rule ids across the reload" "$ids_before" "$ids_after"
expect_match "log" "reconciled \(.*sgnic family registered.*\): .* 1 matchers and 30 rules added" \
	"$(cat "$SGNICD_LOG")"

step "traffic hits the restored rules: ping 192.0.2.7 out of sgnic0"
ip addr add 192.0.2.100/24 dev sgnic0
ip link set sgnic0 up
ip link set sgnic1 up
ip neigh add 192.0.2.7 lladdr "$(cat /sys/class/net/sgnic1/address)" dev sgnic0
ping -c 3 -W 1 -I sgnic0 192.0.2.7 >/dev/null 2>&1 || true
rx=$(nl - rules sgnic1 | jq '[.[] | .rx.packets] | add')
expect_ge "packets counted by sgnic1's restored rules" 3 "$rx"

step "a second cycle while sgnicd is stopped: the restart reconciles it"
stop_sgnicd
rmmod sgnic
insmod "$SGNIC_KMOD"
start_sgnicd
expect_eq "kernel rules after restart on a fresh module" 30 "$(kernel_rules)"
stop_sgnicd
rmmod sgnic
