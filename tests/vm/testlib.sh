# shellcheck shell=bash
# Helpers for VM test cases (sourced inside the guest).  A case reads like an
# operator's session: commands, then assertions that print what was expected
# and what came.
set -euo pipefail

SGNIC_KMOD=${SGNIC_KMOD:-}

step() { printf '==> %s\n' "$*"; }

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

expect_eq() { # what expected actual
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
	printf '    ok: %s = %s\n' "$1" "$3"
}

expect_match() { # what regex actual
	[[ $3 =~ $2 ]] || fail "$1: expected to match /$2/, got '$3'"
	printf '    ok: %s ~ /%s/\n' "$1" "$2"
}

need_kmod() {
	[ -n "$SGNIC_KMOD" ] && [ -f "$SGNIC_KMOD" ] ||
		fail "sgnic.ko not found at '${SGNIC_KMOD}': run 'make' first"
}

# Exit status 77 makes ctest report the test as skipped (not passed).
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}
