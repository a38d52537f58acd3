#!/usr/bin/env bash
# Resolving the sgnic genetlink family loads the module, as it would on a
# machine with sgnic installed (the family's module alias).
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
need_kmod
need_nl

step "install sgnic.ko where modprobe finds it"
extra="/lib/modules/$(uname -r)/extra"
mkdir -p "$extra"
cp "$SGNIC_KMOD" "$extra/"
# The index of sgnic alone (it depends on no module): depmod -a reads the
# kernel's ~4000 modules over 9p, 40 s of a TCG guest alone and ~170 s beside
# another guest.  This guest's /lib/modules is an in-memory overlay, thrown
# away with it.
depmod "$(uname -r)" "$extra/sgnic.ko"
[ ! -e /sys/module/sgnic ] || fail "sgnic is loaded before the test"
expect_match "alias known to modprobe" "sgnic" \
	"$(modprobe --show-depends net-pf-16-proto-16-family-sgnic)"

step "a family request loads the module"
devs=$(nl - dev)
[ -d /sys/module/sgnic ] || fail "the family lookup did not load sgnic"
expect_match "ports listed" '"sgnic0"' "$devs"
expect_match "ports listed" '"sgnic1"' "$devs"

step "rmmod"
rmmod sgnic
[ ! -e /sys/module/sgnic ] || fail "sgnic still loaded"
