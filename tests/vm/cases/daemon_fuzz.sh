#!/usr/bin/env bash
# D-Bus fuzzing of sgnicd: thousands of random and mutated calls (valid
# shapes with random texts, wrong shapes, unknown objects, methods and
# interfaces, oversized arrays), as root and as an unprivileged user.  Every
# call gets a reply or a named error, the daemon stays up, its sanitizers
# stay quiet, and afterwards its picture equals the kernel's.
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd
FUZZ=${SGNIC_BUILD_DIR:-$PWD/build}/tests/sgnic-bus-fuzz
[ -x "$FUZZ" ] || fail "sgnic-bus-fuzz not found at '$FUZZ': run 'make' first"
SEED=${SGNIC_TEST_SEED:-$(date +%s)}
echo "    seed $SEED (SGNIC_TEST_SEED repeats it)"

# check_summary WHAT JSON: every call answered and the daemon alive.
check_summary() {
	echo "    $2"
	expect_eq "$1: daemon alive" true "$(jq .alive <<<"$2")"
	expect_eq "$1: calls = replies + named errors" "$(jq .calls <<<"$2")" \
		"$(jq '.replies + ([.errors[]] | add // 0)' <<<"$2")"
	expect_eq "$1: error names outside the API's" "" \
		"$(jq -r '.errors | keys[] | select(startswith("org.sgnic.Steering1.") or startswith("org.freedesktop.DBus.Error.") | not)' <<<"$2")"
}

step "module, system bus, sgnicd; a matcher on each port to aim at"
insmod "$SGNIC_KMOD"
start_system_bus
start_sgnicd
for port in sgnic0 sgnic1; do
	bus_call "port/$port" Port CreateMatcher 'ua(ss)' 1 2 ip-proto 0xff l4-dport 0xffff >/dev/null
done

step "2000 calls as root"
out=$(ASAN_OPTIONS=detect_leaks=0 "$FUZZ" --calls 2000 --seed "$SEED")
check_summary root "$out"
expect_ge "root: InvalidArgument errors" 1 "$(jq '.errors["org.sgnic.Steering1.InvalidArgument"] // 0' <<<"$out")"
expect_ge "root: replies" 1 "$(jq .replies <<<"$out")"

step "600 calls as nobody"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- \
	env ASAN_OPTIONS=detect_leaks=0 "$FUZZ" --calls 600 --seed $((SEED + 1)))
check_summary nobody "$out"
expect_ge "nobody: AccessDenied errors" 1 \
	"$(jq '.errors["org.freedesktop.DBus.Error.AccessDenied"] // 0' <<<"$out")"

step "the daemon's picture equals the kernel's"
desc=$(bus_call "" Manager Describe | jq -r '.data[0]')
kernel_rules=$(nl - rules --count | jq .rules)
kernel_matchers=$(nl - matchers | jq length)
expect_eq "rules: daemon = kernel" "$(jq .rules <<<"$desc")" "$kernel_rules"
expect_eq "matchers: daemon = kernel" "$(jq .matchers <<<"$desc")" "$kernel_matchers"
stop_sgnicd
rmmod sgnic
