# shellcheck shell=bash
# Shared by tests/vm/fetch-kernel, tests/vm/run and tests/service/run: where
# the VM kernel lives, how its version is found, how a boot is watched.
# Sourced, not executed.

# Directories the guest mounts a fresh tmpfs on (tests/vm/init), hiding the
# host's: a checkout or build tree below one of them is shared on its own.
VM_GUEST_TMPFS_DIRS="/tmp /run /var/tmp /var/log /root"

vm_cache_root() {
	echo "${SGNIC_CACHE:-/var/cache/sgnic}/vm"
}

# The kernel the module is built for is the one whose headers are installed
# through the linux-headers-amd64 metapackage; the VM boots exactly that one.
# Prints "<kernel release> <package version>", e.g. "6.1.0-56-amd64 6.1.192-2".
vm_kernel_version() {
	local dep
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) || {
		echo "vm: linux-headers-amd64 is not installed (run 'make deps')" >&2
		return 1
	}
	# "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)"
	if [[ $dep =~ linux-headers-([^ ,]+)\ \(=\ ([^\)]+)\) ]]; then
		echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
	else
		echo "vm: cannot read the kernel version from '$dep'" >&2
		return 1
	fi
}

# Directory holding vmlinuz, the module tree and the base initramfs.
# SGNIC_VM_KERNEL_DIR selects another kernel laid out the same way (the debug
# kernel of scripts/debug-kernel).
vm_kernel_dir() {
	local rel pkgver
	if [ -n "${SGNIC_VM_KERNEL_DIR:-}" ]; then
		echo "$SGNIC_VM_KERNEL_DIR"
		return 0
	fi
	read -r rel pkgver < <(vm_kernel_version) || return 1
	[ -n "$rel" ] || return 1
	echo "$(vm_cache_root)/$rel-$pkgver"
}

# vm_build_initramfs MODROOT RELEASE OUTPUT
# The initramfs: busybox, the modules that mount the shared root (those the
# kernel has built in are skipped) and tests/vm/init.
vm_build_initramfs() {
	local modroot=$1 rel=$2 output=$3 ird m ko
	ird=$(mktemp -d)
	mkdir -p "$ird"/{bin,dev,proc,sys,mnt,newroot,lib/modules}
	cp /bin/busybox "$ird/bin/busybox"
	ln -s busybox "$ird/bin/sh"
	# modprobe prints "insmod /path" lines in load order, dependencies first.
	: >"$ird/lib/modules/load-order"
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -d "$modroot" -S "$rel" --show-depends "$m" |
			awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r ko; do
		cp "$ko" "$ird/lib/modules/"
		basename "$ko" >>"$ird/lib/modules/load-order"
	done
	cp "$(dirname "${BASH_SOURCE[0]}")/init" "$ird/init"
	chmod +x "$ird/init"
	(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$output"
	# Pad to 4 bytes so an uncompressed cpio may be appended (tests/vm/run).
	head -c $(((4 - $(stat -c %s "$output") % 4) % 4)) /dev/zero >>"$output"
	rm -rf "$ird"
}

# vm_watch_boot QPID STATUS_LOG START_REGEX CONSOLE_LOG QUIET_S
# Returns 0 once the guest has started its test (a line of STATUS_LOG matches
# START_REGEX) or QEMU's process QPID has ended.  A guest that has not started
# its test and has written nothing to CONSOLE_LOG for QUIET_S seconds is hung in
# its boot: QPID is killed and the return is 1, so that the caller can boot
# again.  Seen once in CI: a TCG guest silent for ten minutes after 5 s of
# kernel boot, before anything of the project had run.
vm_watch_boot() {
	local qpid=$1 log=$2 re=$3 console=$4 quiet=$5 size=-1 now changed=$SECONDS
	while kill -0 "$qpid" 2>/dev/null; do
		grep -aqE "$re" "$log" 2>/dev/null && return 0
		now=$(stat -c %s "$console" 2>/dev/null || echo 0)
		if [ "$now" != "$size" ]; then
			size=$now
			changed=$SECONDS
		elif [ $((SECONDS - changed)) -ge "$quiet" ]; then
			kill "$qpid" 2>/dev/null || true
			return 1
		fi
		sleep 1
	done
	return 0
}
