# shellcheck shell=bash
# Helpers for service-tier cases (sourced in the guest from the input disk).
step() { echo "== $*  [${SECONDS}s]"; }
fail() {
	echo "FAIL: $*"
	exit 1
}
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() { [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"; }
# run CMD...: echo and run, fail on non-zero status
run() {
	echo "+ $*"
	"$@" || fail "'$*' exited with $?"
}
# Steps taken in earlier boots are kept here (the root disk survives reboots
# within one run).
SGNIC_TEST_STATE=/var/lib/sgnic-service-test
