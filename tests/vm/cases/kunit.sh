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
for suite in sgnic_fd sgnic_steer_geom sgnic_steer_frame sgnic_fman_tso; do
	results=$(cat "/sys/kernel/debug/kunit/$suite/results")
	printf '%s\n' "$results" | sed 's/^/    /'
	if grep -q 'not ok' <<<"$results"; then
		fail "a KUnit case of $suite failed"
	fi
	expect_match "suite $suite" "(^|[[:space:]])ok [0-9]+ $suite" "$results"
done
rmmod sgnic_kunit
