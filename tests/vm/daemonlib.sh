# shellcheck shell=bash
# Helpers of the daemon VM cases (sourced after testlib.sh and steerlib.sh):
# a real system bus (dbus-daemon --system with sgnic's bus policy) and the
# real sgnicd from the build tree, driven with busctl.

SGNICD=${SGNICD:-${SGNIC_BUILD_DIR:-$PWD/build}/daemon/app/sgnicd}
SGNICCTL=${SGNICCTL:-${SGNIC_BUILD_DIR:-$PWD/build}/cli/sgnicctl}
SGNIC_SRC=${SGNIC_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SGNICD_LOG=/tmp/sgnicd.log
SGNICD_STATE=/var/lib/sgnic
BUS_NAME=org.sgnic.Steering1
BUS_ROOT=/org/sgnic/Steering1
SGNICD_PID=

need_sgnicd() {
	[ -x "$SGNICD" ] || fail "sgnicd not found at '$SGNICD': run 'make' first"
}

need_sgnicctl() {
	[ -x "$SGNICCTL" ] || fail "sgnicctl not found at '$SGNICCTL': run 'make' first"
}

# ctl ARGS...: sgnicctl, which must succeed; prints its stdout.
ctl() {
	"$SGNICCTL" "$@" || fail "sgnicctl $* exited $?, expected 0"
}

# ctl_try ARGS...: sgnicctl that may fail; sets CTL_RC, CTL_OUT and CTL_ERR.
ctl_try() {
	CTL_RC=0
	CTL_OUT=$("$SGNICCTL" "$@" 2>/tmp/sgnicctl.err) || CTL_RC=$?
	CTL_ERR=$(cat /tmp/sgnicctl.err)
}

# ctl_exit RC ARGS...: sgnicctl must exit RC (checked and printed); its
# output stays in CTL_OUT and CTL_ERR.
ctl_exit() {
	local want=$1
	shift
	ctl_try "$@"
	expect_eq "exit status of 'sgnicctl $*'" "$want" "$CTL_RC"
}

# The system bus as Debian runs it, with sgnicd's policy installed.
start_system_bus() {
	mkdir -p /run/dbus /etc/dbus-1/system.d
	cp "$SGNIC_SRC/systemd/org.sgnic.Steering1.conf" /etc/dbus-1/system.d/
	dbus-daemon --system --fork
	for _ in $(seq 100); do
		[ -S /run/dbus/system_bus_socket ] && return 0
		sleep 0.1
	done
	fail "dbus-daemon --system did not come up"
}

# start_sgnicd [NS]: sgnicd (ASan+UBSan build) in netns NS ("-": the initial
# one), logging to $SGNICD_LOG, with the configuration file $SGNICD_CONFIG if
# set; returns once it answers on the bus.
start_sgnicd() {
	local ns=${1:--}
	mkdir -p "$SGNICD_STATE"
	local cmd=("$SGNICD" --state-dir "$SGNICD_STATE" ${SGNICD_CONFIG:+--config "$SGNICD_CONFIG"})
	# ip netns exec execs the daemon, so $! is sgnicd itself.
	[ "$ns" = - ] || cmd=(ip netns exec "$ns" "${cmd[@]}")
	ASAN_OPTIONS=detect_leaks=1 "${cmd[@]}" >>"$SGNICD_LOG" 2>&1 &
	SGNICD_PID=$!
	# A restart over many rules reconciles before it serves (60k rules:
	# ~20 s in a TCG guest, twice that on a busy host).
	for _ in $(seq 1800); do
		if bus_call_quiet Manager Version; then
			return 0
		fi
		kill -0 "$SGNICD_PID" 2>/dev/null || {
			cat "$SGNICD_LOG"
			fail "sgnicd exited before serving"
		}
		sleep 0.1
	done
	cat "$SGNICD_LOG"
	fail "sgnicd did not serve $BUS_NAME within 180 s"
}

# stop_sgnicd: SIGTERM; it must exit 0 with no sanitizer report.
stop_sgnicd() {
	local rc=0
	kill -TERM "$SGNICD_PID"
	wait "$SGNICD_PID" || rc=$?
	SGNICD_PID=
	expect_eq "sgnicd exit status after SIGTERM" 0 "$rc"
	check_sgnicd_log
}

# kill9_sgnicd: no goodbye.
kill9_sgnicd() {
	kill -KILL "$SGNICD_PID"
	wait "$SGNICD_PID" 2>/dev/null || true
	SGNICD_PID=
}

check_sgnicd_log() {
	if grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$SGNICD_LOG"; then
		fail "sanitizer report in sgnicd's log"
	fi
}

# bus_call OBJECT IFACE METHOD [SIG ARGS...]: OBJECT is "" for the manager,
# "port/NAME" or "matcher/ID"; IFACE is Manager, Port or Matcher.  Prints the
# reply as busctl's short JSON.  BUS_TIMEOUT (seconds) replaces busctl's 25 s.
bus_call() {
	local obj=$1 iface=$2 method=$3
	shift 3
	busctl --system --json=short ${BUS_TIMEOUT:+--timeout="$BUS_TIMEOUT"} \
		call "$BUS_NAME" "$BUS_ROOT${obj:+/$obj}" "$BUS_NAME.$iface" "$method" "$@"
}

bus_call_quiet() { bus_call "" "$@" >/dev/null 2>&1; }

# gcall OBJECT IFACE METHOD [ARGS...]: gdbus, whose arguments are GVariant
# text ("[('a', 'b')]") and whose errors carry the D-Bus error name.
gcall() {
	local obj=$1 iface=$2 method=$3
	shift 3
	gdbus call --system --dest "$BUS_NAME" --object-path "$BUS_ROOT${obj:+/$obj}" \
		--method "$BUS_NAME.$iface.$method" "$@"
}

# bus_err ERROR OBJECT IFACE METHOD [ARGS...]: the call (gcall's form) must
# fail with D-Bus error ERROR (org.sgnic.Steering1.ERROR unless it has dots);
# prints the error's message.
bus_err() {
	local want=$1 out
	shift
	[[ $want == *.* ]] || want=$BUS_NAME.$want
	if out=$(gcall "$@" 2>&1); then
		fail "$3 succeeded, expected $want: $out"
	fi
	[[ $out == *"GDBus.Error:$want: "* ]] || fail "$3: expected $want, got: $out"
	echo "${out#*"GDBus.Error:$want: "}"
}

# bus_prop OBJECT IFACE PROPERTY: the property's value.
bus_prop() {
	busctl --system --json=short get-property "$BUS_NAME" "$BUS_ROOT${1:+/$1}" \
		"$BUS_NAME.$2" "$3" | jq -r .data
}

# matcher_of PATH: the matcher object part ("matcher/ID") of a path.
matcher_of() { echo "${1#"$BUS_ROOT"/}"; }
