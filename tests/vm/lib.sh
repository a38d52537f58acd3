# shellcheck shell=bash
# Shared by tests/vm/fetch-kernel and tests/vm/run: where the VM kernel lives
# and how its version is found.  Sourced, not executed.

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
vm_kernel_dir() {
	local rel pkgver
	read -r rel pkgver < <(vm_kernel_version) || return 1
	[ -n "$rel" ] || return 1
	echo "$(vm_cache_root)/$rel-$pkgver"
}
