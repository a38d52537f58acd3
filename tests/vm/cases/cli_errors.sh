#!/usr/bin/env bash
# sgnicctl's exit statuses against the real sgnicd: 1 for a usage error
# (the offending word named, nothing sent: the kernel unchanged), 2 for an
# error of the daemon or the kernel (its message shown); an unprivileged
# user lists and shows but every change fails with 2 and access denied;
# with sgnicd stopped every command says so in one line and exits 2.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd
need_sgnicctl

# as_nobody CMD...: without privileges (uid/gid 65534, no capabilities).
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"; }

# kernel_state: matchers and rules of sgnic1 as the kernel has them.  Not
# the kernel's matcher ids: a rehash the daemon had pending may run before
# a refused insert and install the matcher anew.
kernel_state() {
	{
		nl - matchers sgnic1 | jq -cS '[.[] | {priority, rx: .rx.rules, tx: .tx.rules}]'
		nl - rules sgnic1 | jq -cS '[.[] | {direction, match, actions}]'
	} | tr '\n' ' '
}

step "module, system bus, sgnicd; a matcher (ip-proto, l4-dport) with one rule"
insmod "$SGNIC_KMOD"
start_system_bus
start_sgnicd
M=$(ctl matcher create dev sgnic1 prio 2 match ip-proto,l4-dport)
R=$(ctl rule add matcher "$M" ip-proto udp l4-dport 53 action count)
before=$(kernel_state)
echo "    kernel: $before"

step "usage errors: exit 1, the offending word named, a hint, nothing sent"
# usage WORD ARGS...: exit 1 and a message naming WORD.
usage() {
	local word=$1
	shift
	ctl_exit 1 "$@"
	expect_match "  names '$word'" "^sgnicctl: .*$word" "$(head -n 1 <<<"$CTL_ERR")"
	expect_match "  a hint" $'\n''hint: ' "$CTL_ERR"
	expect_eq "  nothing on stdout" "" "$CTL_OUT"
}
usage frob frob
usage frob port frob
usage --frob --frob port list
usage sgnic/1 port show sgnic/1
usage foo matcher create dev sgnic1 match foo
usage x matcher create dev sgnic1 prio x match ip-proto
usage udpx rule add matcher "$M" ip-proto udpx action drop
usage 70000 rule add matcher "$M" l4-dport 70000 action drop
usage dropp rule add matcher "$M" ip-proto udp action dropp
usage sideways rule add matcher "$M" dir sideways ip-proto udp action drop
usage 1.2.3.999 rule add matcher "$M" ipv4-dst 1.2.3.999 action drop
usage abc rule delete abc
usage x matcher show x
expect_eq "kernel unchanged by the usage errors" "$before" "$(kernel_state)"

step "daemon and kernel errors: exit 2 with the daemon's message"
ctl_exit 2 matcher show 999
expect_eq "  message" "sgnicctl: no matcher 999" "$CTL_ERR"
ctl_exit 2 port show sgnic9
expect_eq "  message" "sgnicctl: no sgnic port 'sgnic9'" "$CTL_ERR"
ctl_exit 2 rule add matcher 999 ip-proto udp action drop
expect_eq "  message" "sgnicctl: no matcher 999" "$CTL_ERR"
ctl_exit 2 matcher delete 999
expect_eq "  message" "sgnicctl: no matcher 999" "$CTL_ERR"
ctl_exit 2 matcher create dev sgnic9 match ip-proto
expect_match "  message names the port" "^sgnicctl: .*sgnic9" "$CTL_ERR"
# Values the grammar accepts but the matcher's template does not hold.
ctl_exit 2 rule add matcher "$M" ipv4-dst 10.0.0.1 action drop
expect_eq "  message" "sgnicctl: field 'ipv4-dst' is not in the matcher's template (ip-proto, l4-dport)" \
	"$CTL_ERR"
ctl_exit 2 rule delete 999
expect_eq "  message" "sgnicctl: no rule 999" "$CTL_ERR"
ctl_exit 2 rule add matcher "$M" ip-proto udp l4-dport 53 action count
expect_match "  the same rule twice: the kernel's answer" "^sgnicctl: .*File exists.*same direction and match" \
	"$CTL_ERR"
expect_eq "kernel unchanged by the refused calls" "$before" "$(kernel_state)"

step "unprivileged: list and show work, every change exits 2 with access denied"
as_nobody "$SGNICCTL" -j port list >/tmp/nobody.out || fail "port list as nobody exited $?"
expect_eq "port list -j as nobody" '["sgnic0","sgnic1"]' "$(jq -c '[.ports[].name]' /tmp/nobody.out)"
as_nobody "$SGNICCTL" -j matcher show "$M" >/tmp/nobody.out || fail "matcher show as nobody exited $?"
expect_eq "matcher show -j as nobody: rules" "[$R]" "$(jq -c '[.rules[].id]' /tmp/nobody.out)"
for read in "port show sgnic1" "matcher list" "rule list" "stats" "version"; do
	# shellcheck disable=SC2086 # the words of the command
	as_nobody "$SGNICCTL" $read >/dev/null || fail "$read as nobody exited $?, expected 0"
	echo "    ok: '$read' as nobody exits 0"
done
printf 'matcher %s ip-proto tcp l4-dport 80 action drop\n' "$M" >/tmp/rules.txt
chmod 644 /tmp/rules.txt
# nobody_denied ARGS...: as nobody, sgnicctl ARGS exits 2 saying access denied.
nobody_denied() {
	local rc=0 err
	# rule load reports its failures on stdout, the others on stderr.
	err=$(as_nobody "$SGNICCTL" "$@" 2>&1) || rc=$?
	expect_eq "exit status of '$*' as nobody" 2 "$rc"
	expect_match "  access denied (the daemon's message)" "needs CAP_NET_ADMIN" "$err"
}
nobody_denied matcher create dev sgnic1 match ipv4-src
nobody_denied matcher delete "$M"
nobody_denied rule add matcher "$M" ip-proto tcp action drop
nobody_denied rule delete "$R"
nobody_denied rule flush
nobody_denied rule load /tmp/rules.txt
expect_eq "kernel unchanged by nobody" "$before" "$(kernel_state)"

step "sgnicd stopped: one clear line, exit 2"
stop_sgnicd
for cmd in "port list" "matcher list" "rule list" "stats" "rule add matcher $M ip-proto tcp action drop" \
	"rule load /tmp/rules.txt" "monitor"; do
	# shellcheck disable=SC2086 # the words of the command
	ctl_exit 2 $cmd
	# "no owner", or "could not be started" when the host has the bus
	# activation file of the package installed.
	expect_match "  one line: not running" "^sgnicctl: sgnicd is not running [^"$'\n'"]+$" "$CTL_ERR"
done
ctl_exit 2 -j version
expect_eq "  version -j: sgnicd null" null "$(jq .sgnicd <<<"$CTL_OUT")"
expect_match "  version -j: sgnicctl still shown" '^[0-9]' "$(jq -r .sgnicctl <<<"$CTL_OUT")"
ctl_exit 1 rule frob
expect_match "  a usage error is still 1" "unknown verb 'frob'" "$CTL_ERR"
rmmod sgnic
