#!/usr/bin/env bash
# sgnic's KUnit suites pass in the running kernel.  Only kernels built with
# KUnit (make test-debug) can run them; elsewhere the test is skipped.
. "$(dirname "$0")/../testlib.sh"
need_kmod
ko="$(dirname "$SGNIC_KMOD")/sgnic_kunit.ko"
[ -d /sys/kernel/debug/kunit ] || skip "kernel $(uname -r) has no KUnit (run make test-debug)"
[ -f "$ko" ] || fail "KUnit kernel but $ko was not built"

step "insmod sgnic_kunit.ko runs the suites"
insmod "$ko"
results=$(cat /sys/kernel/debug/kunit/sgnic_fd/results)
printf '%s\n' "$results" | sed 's/^/    /'
rmmod sgnic_kunit
if grep -q 'not ok' <<<"$results"; then
	fail "a KUnit case failed"
fi
expect_match "suite sgnic_fd" '(^|[[:space:]])ok [0-9]+ sgnic_fd' "$results"
