#!/usr/bin/env bash
# sgnicd against bad callers: an unprivileged user reads but cannot change
# (AccessDenied); wrong types, unknown ports, matchers and fields, bad masks,
# values, actions and directions, oversized arrays and strings all get an
# error naming what is wrong, and change nothing: the store, the kernel and
# the daemon's answers are the same afterwards, and the daemon stays up.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd

DENIED=org.freedesktop.DBus.Error.AccessDenied
# as_nobody CMD...: without privileges (uid/gid 65534, no capabilities).
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"; }

# bad ERROR REGEX OBJECT IFACE METHOD [ARGS...]: fails with ERROR and a
# message matching REGEX.
bad() {
	local want=$1 re=$2 msg args
	shift 2
	msg=$(bus_err "$want" "$@")
	args="${*:4}"
	[ "${#args}" -le 100 ] || args="${args:0:100}..."
	expect_match "$3 $args -> ${want##*.}" "$re" "${msg:0:300}"
}

# denied OBJECT IFACE METHOD [ARGS...]: as nobody, the call is AccessDenied.
denied() {
	local out
	if out=$(as_nobody gdbus call --system --dest "$BUS_NAME" --object-path "$BUS_ROOT/$1" \
		--method "$BUS_NAME.$2.$3" "${@:4}" 2>&1); then
		fail "$3 as nobody succeeded: $out"
	fi
	expect_match "$3 as nobody" "GDBus.Error:$DENIED: .*CAP_NET_ADMIN" "$out"
}

snapshot() {
	{
		bus_call "" Manager Describe | jq -r '.data[0]' | jq -S 'del(.version)'
		nl - state | jq -S '[.matchers[] | {id, rx: .rx.size_log, tx: .tx.size_log, rules: .rx.rules}]'
		nl - rules sgnic1 --count
	} >"$1"
}

step "module, system bus, sgnicd; a matcher with one rule"
insmod "$SGNIC_KMOD"
start_system_bus
start_sgnicd
m=$(bus_call port/sgnic1 Port CreateMatcher 'ua(ss)' 2 2 ipv4-dst /24 l4-dport 0xffff |
	jq -r '.data[0]')
M=$(matcher_of "$m")
bus_call port/sgnic1 Port AddRules 'a(osa(ss)as)' 1 "$m" both 2 ipv4-dst 198.51.100.0 \
	l4-dport 53 1 count >/dev/null
snapshot /tmp/before

step "unprivileged: reads work, every change is AccessDenied"
out=$(as_nobody gdbus call --system --dest "$BUS_NAME" --object-path "$BUS_ROOT" \
	--method "$BUS_NAME.Manager.ListPorts")
expect_match "ListPorts as nobody" "sgnic1" "$out"
out=$(as_nobody gdbus call --system --dest "$BUS_NAME" --object-path "$BUS_ROOT/port/sgnic1" \
	--method "$BUS_NAME.Port.Describe")
expect_match "port Describe as nobody" "rx_rules" "$out"
expect_eq "RxRules as nobody" 1 "$(as_nobody busctl --system get-property "$BUS_NAME" \
	"$BUS_ROOT/$M" "$BUS_NAME.Matcher" RxRules | cut -d' ' -f2)"
denied port/sgnic1 Port CreateMatcher 5 "[('ipv4-src', '/32')]"
denied port/sgnic1 Port AddRules \
	"[('$m', 'rx', [('ipv4-dst', '198.51.100.0'), ('l4-dport', '54')], ['drop'])]"
denied port/sgnic1 Port DeleteRules "[uint64 1]"
denied port/sgnic1 Port Flush
denied "$M" Matcher Delete

step "wrong types and unknown objects"
# dbus-send does not check arguments against the introspection, as gdbus does.
wrong_type() { # OBJECT IFACE.METHOD ARGS...
	local out
	if out=$(dbus-send --system --print-reply --dest="$BUS_NAME" "$BUS_ROOT/$1" \
		"$BUS_NAME.$2" "${@:3}" 2>&1); then
		fail "$2 ${*:3} succeeded: $out"
	fi
	expect_match "$2 ${*:3}" "Error org.freedesktop.DBus.Error.InvalidArgs" "$out"
}
wrong_type port/sgnic1 Port.AddRules string:hello
wrong_type port/sgnic1 Port.CreateMatcher string:x
wrong_type port/sgnic1 Port.DeleteRules array:string:1,2
wrong_type port/sgnic1 Port.CreateMatcher uint32:1 uint32:2
bad org.freedesktop.DBus.Error.UnknownObject "" port/nosuch Port Flush
bad org.freedesktop.DBus.Error.UnknownObject "" matcher/999 Matcher Delete
bad org.freedesktop.DBus.Error.UnknownMethod "" port/sgnic1 Port Explode

step "templates: unknown field, bad masks, duplicates, empty"
bad InvalidArgument "unknown field 'vni'" port/sgnic1 Port CreateMatcher 1 "[('vni', '/24')]"
bad InvalidArgument "ipv4-src.*/33" port/sgnic1 Port CreateMatcher 1 "[('ipv4-src', '/33')]"
bad InvalidArgument "dmac.*zz" port/sgnic1 Port CreateMatcher 1 "[('dmac', 'zz:ff:ff:ff:ff:ff')]"
bad InvalidArgument "l4-dport.*0x10000" port/sgnic1 Port CreateMatcher 1 "[('l4-dport', '0x10000')]"
bad InvalidArgument "ipv4-src.*(twice|more than once|duplicate)" port/sgnic1 Port CreateMatcher 1 \
	"[('ipv4-src', '/8'), ('ipv4-src', '/16')]"
bad InvalidArgument "(no fields|empty|at least one)" port/sgnic1 Port CreateMatcher 1 "@a(ss) []"

step "rules: bad values, masks, actions, directions, matchers; one bad rule fails the batch"
good="('$m', 'rx', [('ipv4-dst', '198.51.100.0'), ('l4-dport', '80')], ['count'])"
bad InvalidArgument "rule #1: .*ipv4-dst.*300" port/sgnic1 Port AddRules \
	"[$good, ('$m', 'rx', [('ipv4-dst', '198.51.300.0')], ['drop'])]"
bad InvalidArgument "rule #0: .*ipv4-dst.*(outside|mask)" port/sgnic1 Port AddRules \
	"[('$m', 'rx', [('ipv4-dst', '198.51.100.7')], ['drop'])]"
bad InvalidArgument "rule #0: .*(field|template).*ipv4-src" port/sgnic1 Port AddRules \
	"[('$m', 'rx', [('ipv4-src', '10.0.0.1')], ['drop'])]"
bad InvalidArgument "rule #1: .*explode" port/sgnic1 Port AddRules \
	"[$good, ('$m', 'rx', [('l4-dport', '81')], ['explode'])]"
bad InvalidArgument "rule #0: .*(terminal|last|after)" port/sgnic1 Port AddRules \
	"[('$m', 'rx', [('l4-dport', '82')], ['drop', 'count'])]"
bad InvalidArgument "rule #0: .*mark" port/sgnic1 Port AddRules \
	"[('$m', 'rx', [('l4-dport', '83')], ['mark'])]"
bad InvalidArgument "rule #0: .*sideways" port/sgnic1 Port AddRules \
	"[('$m', 'sideways', [('l4-dport', '84')], ['drop'])]"
bad NoSuchMatcher "rule #0: no matcher 77" port/sgnic1 Port AddRules \
	"[('/org/sgnic/Steering1/matcher/77', 'rx', [('l4-dport', '85')], ['drop'])]"
bad NoSuchMatcher "rule #0: no matcher .* on port 'sgnic0'" port/sgnic0 Port AddRules "[$good]"
bad InvalidArgument "no rules" port/sgnic1 Port AddRules "@a(osa(ss)as) []"
bad NoSuchRule "no rule 4242" port/sgnic1 Port DeleteRules "[uint64 4242]"

step "oversized input: 65537 ids, a 100 KiB value"
ids=$(seq -s ' ' 1 65537)
# shellcheck disable=SC2086
out=$(busctl --system call "$BUS_NAME" "$BUS_ROOT/port/sgnic1" "$BUS_NAME.Port" DeleteRules at 65537 $ids 2>&1) &&
	fail "DeleteRules with 65537 ids succeeded"
expect_match "DeleteRules with 65537 ids" "65536" "$out"
long=$(head -c 100000 /dev/zero | tr '\0' 1)
bad InvalidArgument "rule #0: .*l4-dport" port/sgnic1 Port AddRules \
	"[('$m', 'rx', [('l4-dport', '$long')], ['drop'])]"

step "nothing changed, the daemon is up and still serves"
snapshot /tmp/after
diff -u /tmp/before /tmp/after || fail "state changed after rejected calls"
echo "    ok: Describe, kernel matchers and rules identical"
bus_call_quiet Manager Version || fail "sgnicd stopped answering"
kill -0 "$SGNICD_PID" || fail "sgnicd died"
stop_sgnicd
rmmod sgnic
