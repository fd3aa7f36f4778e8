#!/usr/bin/env bash
# Prepare everything a qemu VM needs to test GPIO code against a real Linux
# kernel's GPIO character device, for each ARCH given (amd64, arm64, armhf):
#
#   - a stock Debian 12 kernel (linux-image-<abi>-<flavour>[-unsigned]),
#   - its configfs.ko, and gpio-sim.ko built out of tree from the
#     same-version linux-source-6.1 with linux-headers (+ -common) and
#     linux-kbuild-6.1 (Debian does not ship gpio-sim; see docs/gpio.md),
#   - the sound modules of the same kernel for the ALSA loopback card
#     (snd-aloop and what modules.dep says it needs, in load order),
#   - busybox from busybox-static for that architecture.
#
# Usage: scripts/vm/build.sh ARCH...      prints one ready directory per ARCH
#
# Everything is kept in a private cache OUTSIDE the repository:
# $MWI_VM_CACHE (default /var/cache/mwi-agent-vm), with its own apt lists
# and archives (the image's docker-clean apt hook deletes .debs from the
# system cache whenever another apt-get runs). A warm cache costs ~1 s; a cold
# one downloads ~330 MB and builds three modules (~2.5 min, docs/gpio.md).
# MWI_VM_REFRESH=1 forces a fresh `apt-get update` of the private lists.
set -euo pipefail

cache=${MWI_VM_CACHE:-/var/cache/mwi-agent-vm}
series=6.1
hostarch=$(dpkg --print-architecture)
mkdir -p "$cache"/{lists/partial,archives/partial,apt,dl}
touch "$cache/status"
cat >"$cache/apt.conf" <<CONF
APT::Architecture "$hostarch";
APT::Architectures { "amd64"; "arm64"; "armhf"; };
Dir::State::Lists "$cache/lists";
Dir::State::status "$cache/status";
Dir::Cache "$cache/apt";
Dir::Cache::archives "$cache/archives";
Acquire::Languages "none";
APT::Sandbox::User "root";
Dir::Cache::pkgcache "$cache/apt/pkgcache.bin";
Dir::Cache::srcpkgcache "$cache/apt/srcpkgcache.bin";
CONF
apt_() { APT_CONFIG="$cache/apt.conf" "$@"; }
log() { echo "vm/build: $*" >&2; }

exec 9>"$cache/lock"
flock -w 900 9 || { log "cache $cache is locked by another run"; exit 1; }

flavour() {
	case $1 in
	amd64) echo amd64 ;; arm64) echo arm64 ;; armhf) echo armmp ;;
	*) log "unknown arch $1 (want amd64, arm64 or armhf)"; exit 2 ;;
	esac
}
karch() { case $1 in amd64) echo x86 ;; arm64) echo arm64 ;; armhf) echo arm ;; esac; }
cross() {
	[ "$1" = "$hostarch" ] && { echo ""; return; }
	case $1 in amd64) echo x86_64-linux-gnu- ;; arm64) echo aarch64-linux-gnu- ;; armhf) echo arm-linux-gnueabihf- ;; esac
}
image_pkg() { # abi arch
	case $2 in armhf) echo "linux-image-$1-armmp" ;; *) echo "linux-image-$1-$(flavour "$2")-unsigned" ;; esac
}

arches=("$@")
[ ${#arches[@]} -gt 0 ] || { log "usage: build.sh ARCH..."; exit 2; }
for arch in "${arches[@]}"; do flavour "$arch" >/dev/null; done

# ---- warm: the last chosen version is built for every arch asked for --------
if [ "${MWI_VM_REFRESH:-0}" != 1 ] && [ -s "$cache/current" ]; then
	cur=$(cat "$cache/current")
	all=1
	for arch in "${arches[@]}"; do [ -e "$cache/$cur/$arch/ready-snd" ] || all=0; done
	if [ $all = 1 ]; then
		for arch in "${arches[@]}"; do echo "$cache/$cur/$arch"; done
		exit 0
	fi
fi

# ---- private apt lists: refresh when missing, older than 7 days, or asked --
if [ "${MWI_VM_REFRESH:-0}" = 1 ] || [ -z "$(find "$cache/lists" -maxdepth 1 -name '*_InRelease' -mtime -7 2>/dev/null | head -1)" ]; then
	log "apt-get update (private lists in $cache/lists)"
	# One flaky index (e.g. a security mirror mid-sync) must not stop us:
	# the version chosen below only uses packages that are actually listed.
	apt_ apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 update -qq >"$cache/update.log" 2>&1 ||
		log "apt-get update reported errors (see $cache/update.log); continuing with what was fetched"
fi

# ---- choose the newest kernel version available for every requested arch --
have() { apt_ apt-cache show "$@" >/dev/null 2>&1; } # all of them, or fail
abi_for() { # version -> abi like 6.1.0-50, from the amd64 headers metapackage's dependency
	apt_ apt-cache show "linux-headers-$(flavour "$2"):$2=$1" 2>/dev/null |
		sed -n "s/^Depends: .*linux-headers-\($series\.[0-9]*-[0-9]*\)-$(flavour "$2").*/\1/p" | head -1
}
version="" abi=""
for v in $(apt_ apt-cache madison "linux-source-$series" | awk '{print $3}' | sort -u -V -r); do
	a=$(abi_for "$v" "${arches[0]}")
	[ -n "$a" ] || continue
	pkgs=("linux-source-$series=$v" "linux-kbuild-$series:$hostarch=$v" "linux-headers-$a-common=$v")
	for arch in "${arches[@]}"; do
		pkgs+=("$(image_pkg "$a" "$arch"):$arch=$v" "linux-headers-$a-$(flavour "$arch"):$arch=$v" "busybox-static:$arch")
	done
	if have "${pkgs[@]}"; then version=$v abi=$a; break; fi
done
[ -n "$version" ] || { log "no linux-source-$series version with images/headers for ${arches[*]} in the apt lists"; exit 1; }

vdir=$cache/$version
root=$vdir/root
mkdir -p "$vdir"
fetch() { # pkg=ver... into $cache/dl, skipping what is there
	local want=() p
	for p in "$@"; do
		local name=${p%%=*} ver=${p#*=} arch=all
		case $name in *:*) arch=${name#*:} name=${name%%:*} ;; esac
		[ "$ver" = "$p" ] && ver=""
		if ! ls "$cache/dl/${name}_"*"${ver//:/%3a}_${arch}.deb" >/dev/null 2>&1; then want+=("$p"); fi
	done
	[ ${#want[@]} -eq 0 ] && return 0
	log "downloading ${want[*]}"
	(cd "$cache/dl" && apt_ apt-get -o Acquire::Retries=3 -q download "${want[@]}" >>"$cache/download.log" 2>&1) ||
		{ tail -20 "$cache/download.log" >&2; exit 1; }
}
deb() { ls "$cache/dl/${1}_"*"_${2}.deb" 2>/dev/null | grep -F "_${3//:/%3a}_" | head -1; }

# ---- shared pieces: kbuild (host), headers-common, the two source files -----
if [ ! -e "$vdir/shared.ok" ]; then
	fetch "linux-kbuild-$series:$hostarch=$version" "linux-headers-$abi-common=$version" "linux-source-$series=$version"
	rm -rf "$root" "$vdir/src" && mkdir -p "$root" "$vdir/src"
	dpkg-deb -x "$(deb "linux-kbuild-$series" "$hostarch" "$version")" "$root"
	dpkg-deb -x "$(deb "linux-headers-$abi-common" all "$version")" "$root"
	log "extracting gpio-sim.c, gpiolib.h, irq_sim.c from linux-source-$series"
	dpkg-deb --fsys-tarfile "$(deb "linux-source-$series" all "$version")" |
		tar -xO "./usr/src/linux-source-$series.tar.xz" | xz -dc -T0 |
		tar -x -C "$vdir/src" --strip-components=1 \
			"linux-source-$series/drivers/gpio/gpio-sim.c" \
			"linux-source-$series/drivers/gpio/gpiolib.h" \
			"linux-source-$series/kernel/irq/irq_sim.c"
	touch "$vdir/shared.ok"
fi

for arch in "${arches[@]}"; do
	fl=$(flavour "$arch")
	out=$vdir/$arch
	if [ -e "$out/ready-snd" ]; then echo "$out"; continue; fi
	t0=$(date +%s)
	img=$(image_pkg "$abi" "$arch")
	fetch "$img:$arch=$version" "linux-headers-$abi-$fl:$arch=$version" "busybox-static:$arch"
	rm -rf "$out" && mkdir -p "$out/build" "$out/x"
	dpkg-deb -x "$(deb "linux-headers-$abi-$fl" "$arch" "$version")" "$root"
	# Debian's per-flavour Makefile includes the -common one by absolute path.
	sed -i "s#^include /usr/src/#include $root/usr/src/#" "$root/usr/src/linux-headers-$abi-$fl/Makefile"
	dpkg-deb --fsys-tarfile "$(deb "$img" "$arch" "$version")" |
		tar -x -C "$out/x" --wildcards './boot/vmlinuz-*' './lib/modules/*/kernel/fs/configfs/configfs.ko' \
			'./lib/modules/*/kernel/sound/soundcore.ko*' './lib/modules/*/kernel/sound/core/*.ko*' \
			'./lib/modules/*/kernel/sound/drivers/snd-aloop.ko*'
	mv "$out"/x/boot/vmlinuz-* "$out/vmlinuz"
	mv "$(find "$out/x" -name configfs.ko)" "$out/configfs.ko"
	# The ALSA loopback card (snd-aloop) and the modules it needs, in load
	# order (from each module's "depends", as modprobe would), for the
	# audio-timing test (docs/gpio.md). The image has no modules.dep.
	mkdir -p "$out/snd"
	order=()
	add_mod() {
		local name=$1 f d s
		for s in "${order[@]}"; do [ "$s" = "$name" ] && return 0; done
		f=$(find "$out/x" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" \) | head -1)
		[ -n "$f" ] || { log "$arch: module $name (needed by snd-aloop) is not in $img"; exit 1; }
		for d in $(modinfo -F depends "$f" | tr ',' ' '); do add_mod "$d"; done
		order+=("$name")
		case $f in
		*.xz) xz -dc "$f" >"$out/snd/${#order[@]}-$name.ko" ;;
		*) cp "$f" "$out/snd/${#order[@]}-$name.ko" ;;
		esac
	}
	add_mod snd-aloop
	log "$arch: sound modules ${order[*]}"
	bb=$(ls "$cache/dl/busybox-static_"*"_$arch.deb" | sort -V | tail -1)
	dpkg-deb --fsys-tarfile "$bb" | tar -xO ./bin/busybox >"$out/busybox"
	chmod +x "$out/busybox"
	rm -rf "$out/x"

	# gpio-sim needs the irq simulator, which Debian's kernels do not build
	# (CONFIG_IRQ_SIM is off), so both go into one module. Two edits:
	# irq_to_desc() is not exported -> generic_handle_irq(); for armhf the
	# host (amd64) modpost mis-sizes 32-bit OF device tables -> drop it.
	b=$out/build
	cp "$vdir/src/drivers/gpio/gpio-sim.c" "$b/gpio-sim-main.c"
	cp "$vdir/src/drivers/gpio/gpiolib.h" "$vdir/src/kernel/irq/irq_sim.c" "$b/"
	sed -i 's/handle_simple_irq(irq_to_desc(\([^()]*\)))/generic_handle_irq(\1)/' "$b/irq_sim.c" "$b/gpio-sim-main.c"
	[ "$arch" = armhf ] && sed -i '/^MODULE_DEVICE_TABLE/d' "$b/gpio-sim-main.c"
	printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-main.o irq_sim.o\n' >"$b/Makefile"
	log "building gpio-sim.ko for $arch ($abi-$fl, $version)"
	if ! make -C "$root/usr/src/linux-headers-$abi-$fl" M="$b" ARCH="$(karch "$arch")" CROSS_COMPILE="$(cross "$arch")" modules >"$b/make.log" 2>&1; then
		tail -30 "$b/make.log" >&2
		exit 1
	fi
	cp "$b/gpio-sim.ko" "$out/gpio-sim.ko"
	printf 'version=%s\nabi=%s\nflavour=%s\n' "$version" "$abi" "$fl" >"$out/info"
	touch "$out/ready-snd"
	log "$arch ready in $(( $(date +%s) - t0 )) s: $out"
	echo "$out"
done
echo "$version" >"$cache/current"
