#!/usr/bin/env bash
# The module loads into Debian's kernel, identifies itself and unloads cleanly.
. "$(dirname "$0")/../testlib.sh"
need_kmod

step "insmod sgnic.ko"
want_version=$(modinfo -F version "$SGNIC_KMOD")
insmod "$SGNIC_KMOD"
[ -d /sys/module/sgnic ] || fail "/sys/module/sgnic missing after insmod"
expect_eq "loaded version" "$want_version" "$(cat /sys/module/sgnic/version)"
expect_eq "refcount" 0 "$(cat /sys/module/sgnic/refcnt)"
expect_match "kernel log" "sgnic: version $want_version loaded" "$(dmesg)"

step "rmmod sgnic"
rmmod sgnic
[ ! -e /sys/module/sgnic ] || fail "/sys/module/sgnic still present after rmmod"
expect_match "kernel log" "sgnic: unloaded" "$(dmesg | tail -n 5)"
