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

# same_picture WHAT: the daemon's counts equal the kernel's.
same_picture() {
	local desc
	desc=$(bus_call "" Manager Describe | jq -r '.data[0]')
	expect_eq "$1: rules daemon = kernel" "$(jq .rules <<<"$desc")" "$(nl - rules --count | jq .rules)"
	expect_eq "$1: matchers daemon = kernel" "$(jq .matchers <<<"$desc")" "$(nl - matchers | jq length)"
}

step "the daemon's picture equals the kernel's"
same_picture "after fuzzing"

step "and it still steers: a new matcher with 3 rules reaches the kernel"
m=$(bus_call port/sgnic1 Port CreateMatcher 'ua(ss)' 9 1 l4-sport 0xffff | jq -r '.data[0]')
ids=$(bus_call port/sgnic1 Port AddRules 'a(osa(ss)as)' 3 "$m" rx 1 l4-sport 1 1 drop \
	"$m" rx 1 l4-sport 2 1 drop "$m" rx 1 l4-sport 3 1 drop | jq -c '.data[0] | length')
expect_eq "rule ids returned" 3 "$ids"
expect_ge "kernel rules on sgnic1" 3 "$(nl - rules sgnic1 --count | jq .rules)"
same_picture "after new rules"
stop_sgnicd
rmmod sgnic
