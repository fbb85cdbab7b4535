# Fetch Debian 6.1 kernel images with apt. Sourced by run.sh and fetch-btf.sh.
#
#   vm_fetch_kernel ARCH   (amd64 or arm64) -> prints the path of the cached vmlinuz
#
# The image package is the unsigned build of the one `linux-image-ARCH` depends on; its .deb
# is kept in $VM_CACHE, its /boot and virtio modules in $VM_CACHE/ARCH/.

VM_REPO=${VM_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VM_CACHE=${VM_CACHE:-${CARGO_TARGET_DIR:-$VM_REPO/target}/vm-cache}

vm_die() {
	echo "vm: error: $*" >&2
	exit 1
}

vm_log() {
	echo "vm: $*" >&2
}

# The name of the concrete image package behind the `linux-image-ARCH` metapackage.
vm_resolve_image() {
	local arch=$1 meta dep
	if [ "$arch" = amd64 ]; then meta=linux-image-amd64; else meta=linux-image-$arch:$arch; fi
	dep=$(apt-cache depends "$meta" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	dep=${dep%%:*}
	[ -n "$dep" ] && echo "$dep-unsigned"
}

# Make apt know the foreign architecture (for the arm64 package), refresh its lists when the
# package cannot be resolved, and set VM_IMAGE_PKG.
vm_apt_ready() {
	local arch=$1
	if [ "$arch" != amd64 ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		[ "$(id -u)" = 0 ] || vm_die "adding the $arch architecture to apt needs root"
		dpkg --add-architecture "$arch"
		VM_APT_UPDATED=
	fi
	VM_IMAGE_PKG=$(vm_resolve_image "$arch")
	if [ -z "$VM_IMAGE_PKG" ] && [ -z "${VM_APT_UPDATED:-}" ]; then
		vm_log "apt-get update (to resolve the $arch kernel package)"
		apt-get update -qq >&2 || vm_log "apt-get update reported errors"
		VM_APT_UPDATED=1
		VM_IMAGE_PKG=$(vm_resolve_image "$arch")
	fi
}

vm_fetch_kernel() {
	local arch=$1 pkg deb dir vmlinuz
	dir=$VM_CACHE/$arch
	mkdir -p "$dir"
	vm_apt_ready "$arch"
	pkg=$VM_IMAGE_PKG
	if [ -z "$pkg" ]; then
		# No apt: a previously downloaded package is still a real kernel.
		deb=$(ls -t "$VM_CACHE"/linux-image-*-"$arch"-unsigned_*_"$arch".deb 2>/dev/null | head -n1)
		[ -n "$deb" ] || vm_die "cannot resolve Debian's linux-image-$arch package with apt-cache and no kernel package is cached in $VM_CACHE"
		vm_log "apt cannot resolve linux-image-$arch; using cached $(basename "$deb")"
	else
		deb=$(ls -t "$VM_CACHE/${pkg}"_*_"$arch".deb 2>/dev/null | head -n1)
		if [ -z "$deb" ]; then
			vm_log "downloading $pkg ($arch)"
			local q=$pkg
			[ "$arch" = amd64 ] || q=$pkg:$arch
			if ! (cd "$VM_CACHE" && apt-get download -q "$q" >&2); then
				# Stale package lists name a version the mirror no longer has: refresh, retry.
				vm_log "apt-get download $q failed; refreshing the package lists"
				apt-get update -qq >&2 || true
				pkg=$(vm_resolve_image "$arch")
				q=$pkg
				[ "$arch" = amd64 ] || q=$pkg:$arch
				(cd "$VM_CACHE" && apt-get download -q "$q" >&2) || vm_die "apt-get download $q failed"
			fi
			deb=$(ls -t "$VM_CACHE/${pkg}"_*_"$arch".deb 2>/dev/null | head -n1)
			[ -n "$deb" ] || vm_die "apt-get download $q produced no .deb in $VM_CACHE"
		fi
	fi
	local stamp=$dir/.from
	if [ "$(cat "$stamp" 2>/dev/null)" != "$(basename "$deb")" ]; then
		rm -rf "$dir/boot" "$dir/lib"
		# /boot, and the virtio modules the guest loads for its output disk.
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards ./boot \
			'./lib/modules/*/kernel/drivers/virtio/virtio*.ko' \
			'./lib/modules/*/kernel/drivers/block/virtio_blk.ko' 2>/dev/null || true
		basename "$deb" >"$stamp"
	fi
	vmlinuz=$(ls "$dir"/boot/vmlinuz-* 2>/dev/null | head -n1)
	[ -n "$vmlinuz" ] || vm_die "$deb has no /boot/vmlinuz-*"
	echo "$vmlinuz"
}

# The ELF vmlinux inside an x86 bzImage with an xz payload (for a PVH boot with no
# decompression in the guest). Prints its path, or nothing when it cannot be had.
vm_elf_vmlinux() {
	local bz=$1 out=${1%/*}/vmlinux setup_sects off len
	if [ -s "$out" ] && [ "$out" -nt "$bz" ]; then
		echo "$out"
		return
	fi
	command -v xz >/dev/null || return 0
	setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' ')
	[ "$setup_sects" = 0 ] && setup_sects=4
	off=$(od -An -tu4 -j $((0x248)) -N4 "$bz" | tr -d ' ')
	len=$(od -An -tu4 -j $((0x24c)) -N4 "$bz" | tr -d ' ')
	off=$(((setup_sects + 1) * 512 + off))
	[ "$(od -An -tx1 -j "$off" -N6 "$bz" | tr -d ' ')" = fd377a585a00 ] || return 0
	if dd if="$bz" of="$out.xz" iflag=skip_bytes,count_bytes skip="$off" count="$len" status=none &&
		xz -dc --single-stream <"$out.xz" >"$out.tmp" 2>/dev/null; then
		mv "$out.tmp" "$out"
		rm -f "$out.xz"
	else
		rm -f "$out.tmp" "$out.xz"
		return 0
	fi
	echo "$out"
}

# vm_require COMMAND PACKAGE: install PACKAGE with apt when COMMAND is missing (as root).
vm_require() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null && return
	[ "$(id -u)" = 0 ] || vm_die "$cmd is missing: install the $pkg package"
	vm_log "installing $pkg"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "$pkg" >&2 ||
		{ apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "$pkg" >&2; } ||
		vm_die "cannot install $pkg with apt-get"
	command -v "$cmd" >/dev/null || vm_die "$cmd still missing after installing $pkg"
}

# vm_busybox ARCH: path of a static busybox for ARCH (the host's for amd64, else unpacked from
# Debian's busybox-static:ARCH package into $VM_CACHE/ARCH/busybox).
vm_busybox() {
	local arch=$1 b
	if [ "$arch" = amd64 ]; then
		for b in /bin/busybox /usr/bin/busybox; do
			if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
				echo "$b"
				return
			fi
		done
		[ "$(id -u)" = 0 ] || vm_die "a static busybox is missing: install the busybox-static package"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >&2 ||
			vm_die "cannot install busybox-static with apt-get"
		ldd /bin/busybox >/dev/null 2>&1 && vm_die "/bin/busybox is not statically linked"
		echo /bin/busybox
		return
	fi
	local dir=$VM_CACHE/$arch/busybox deb
	if [ ! -x "$dir/bin/busybox" ]; then
		mkdir -p "$VM_CACHE/$arch"
		vm_apt_ready "$arch"
		deb=$(ls -t "$VM_CACHE"/busybox-static_*_"$arch".deb 2>/dev/null | head -n1)
		if [ -z "$deb" ]; then
			if ! (cd "$VM_CACHE" && apt-get download -q "busybox-static:$arch" >&2); then
				# Stale lists or a passing mirror/lock problem: refresh once and retry.
				vm_log "apt-get download busybox-static:$arch failed; refreshing the package lists"
				apt-get update -qq >&2 || true
				(cd "$VM_CACHE" && apt-get download -q "busybox-static:$arch" >&2) ||
					vm_die "apt-get download busybox-static:$arch failed"
			fi
			deb=$(ls -t "$VM_CACHE"/busybox-static_*_"$arch".deb 2>/dev/null | head -n1)
		fi
		[ -n "$deb" ] || vm_die "no busybox-static:$arch package in $VM_CACHE"
		rm -rf "$dir"
		dpkg-deb -x "$deb" "$dir" || vm_die "cannot unpack $deb"
	fi
	echo "$dir/bin/busybox"
}
