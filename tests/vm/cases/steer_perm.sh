#!/usr/bin/env bash
# Without CAP_NET_ADMIN a process can read (gets and dumps) but every
# mutating operation of the sgnic family answers EPERM and changes nothing.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl

# unpriv NS ARGS...: sgnic-nl in NS, as root without CAP_NET_ADMIN.
unpriv() {
	local ns=$1
	shift
	in_ns "$ns" capsh --drop=cap_net_admin -- -c 'exec "$0" "$@"' "$SGNIC_NL" "$@"
}

# nobody ARGS...: sgnic-nl as uid 65534 with no capabilities at all.
nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		--bounding-set=-all "$SGNIC_NL" "$@"
}

step "the family's module alias (autoload through nlctrl)"
# The autoload itself is exercised by vm.steer_autoload.
expect_match "module alias" "net-pf-16-proto-16-family-sgnic" "$(modinfo -F alias "$SGNIC_KMOD")"

step "as root: matchers 1 and 2 on sgnic1, rules 1 and 2"
insmod "$SGNIC_KMOD"
ip link set sgnic1 up
nl - matcher-new sgnic1 id 1 rx-log 4 ipv4-dst >/dev/null
nl - matcher-new sgnic1 id 2 rx-log 6 ipv4-dst >/dev/null
nl - rule-add sgnic1 1 1 rx ipv4-dst=10.0.0.1 count >/dev/null
nl - rule-add sgnic1 1 2 both ipv4-dst=10.0.0.2 drop >/dev/null
before="$(nl - matchers)$(nl - rules)"

step "without CAP_NET_ADMIN: gets and dumps work"
if capsh --drop=cap_net_admin -- -c 'capsh --has-p=cap_net_admin' 2>/dev/null; then
	fail "capsh --drop=cap_net_admin left the capability in place"
fi
expect_eq "dev sgnic1" sgnic1 "$(jget "$(unpriv - dev sgnic1)" .name)"
expect_eq "dev dump" 2 "$(jget "$(unpriv - dev)" length)"
expect_eq "matcher dump" 2 "$(jget "$(unpriv - matchers sgnic1)" length)"
expect_eq "matcher get" 4 "$(jget "$(unpriv - matcher-get sgnic1 1)" .rx.size_log)"
expect_eq "rule dump" 2 "$(jget "$(unpriv - rules sgnic1)" length)"
expect_eq "rule get" both "$(jget "$(unpriv - rule-get sgnic1 2)" .direction)"
expect_ge "portal dump" 1 "$(jget "$(unpriv - portals)" length)"
expect_eq "pool dump" 1 "$(jget "$(unpriv - pools sgnic1)" length)"
expect_eq "rule dump as nobody" 2 "$(jget "$(nobody rules sgnic1)" length)"

step "without CAP_NET_ADMIN: every mutating op is EPERM"
while read -r what args; do
	# shellcheck disable=SC2086
	out=$(unpriv - $args 2>&1) && fail "$what succeeded without CAP_NET_ADMIN: $out"
	expect_match "$what" "^sgnic-nl: EPERM" "$out"
done <<'OPS'
matcher-new    matcher-new sgnic1 id 3 rx-log 2 ipv4-dst
matcher-del    matcher-del sgnic1 2
matcher-resize matcher-resize sgnic1 1 2
rule-new       rule-add sgnic1 1 3 rx ipv4-dst=10.0.0.3 count
rule-del       rules-del sgnic1 1
rule-move      rules-move sgnic1 1 1
OPS
out=$(nobody rules-del sgnic1 2 2>&1) && fail "rule-del as nobody succeeded: $out"
expect_match "rule-del as nobody" "^sgnic-nl: EPERM" "$out"

step "nothing changed"
expect_eq "matchers and rules" "$before" "$(nl - matchers)$(nl - rules)"
rmmod sgnic
