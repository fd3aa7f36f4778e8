#!/usr/bin/env bash
# Boot a stock Debian kernel under qemu (TCG, no KVM needed) with a tiny
# initramfs: busybox, configfs.ko, gpio-sim.ko, the ALSA loopback card's
# modules (snd-aloop), scripts/vm/init.sh as /init and the given test
# binaries. The VM creates gpio-sim chips, runs each test
# binary with MWI_GPIOSIM=1, prints "MWI-VM: EXIT <n>" and powers off.
#
# Usage: scripts/vm/run.sh ARCH READYDIR TESTBIN[=RUNREGEX]... [-- TEST ARGS...]
#   READYDIR is a directory printed by scripts/vm/build.sh; =RUNREGEX limits
#   that binary to the matching tests (-test.run).
# Exit status: the tests' status; 98 = the VM never reported (timeout/crash).
# MWI_VM_TIMEOUT (seconds, default 300) bounds the whole VM run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
arch=$1 dir=$2
shift 2
bins=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do bins+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
args=("$@")

tmp=$(mktemp -d /tmp/mwi-vm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
mkdir -p "$r"/{bin,dev,proc,sys,lib,tests,tmp}
cp "$dir/busybox" "$r/bin/busybox"
ln -s busybox "$r/bin/sh"
cp "$dir/configfs.ko" "$dir/gpio-sim.ko" "$r/lib/"
mkdir -p "$r/lib/snd" && cp "$dir"/snd/*.ko "$r/lib/snd/" # snd-aloop and its dependencies, in load order
cp "$here/init.sh" "$r/init"
chmod +x "$r/init"
for b in "${bins[@]}"; do
	f=${b%%=*} name=$(basename "${b%%=*}" .test)
	cp "$f" "$r/tests/$name.test"
	[ "$f" != "$b" ] && printf '%s' "${b#*=}" >"$r/tests/$name.run"
done
printf '%s ' "${args[@]}" >"$r/tests/args"
(cd "$r" && find . | cpio -o -H newc --quiet) >"$tmp/initrd"

append="quiet loglevel=1 panic=-1 rdinit=/init"
case $arch in
amd64) qemu=(qemu-system-x86_64 -M pc -cpu max) append="console=ttyS0 $append" ;;
arm64) qemu=(qemu-system-aarch64 -M virt -cpu cortex-a57) append="console=ttyAMA0 $append" ;;
armhf) qemu=(qemu-system-arm -M virt,highmem=off -cpu cortex-a15) append="console=ttyAMA0 $append" ;;
*) echo "vm/run: unknown arch $arch" >&2; exit 2 ;;
esac
t0=$(date +%s%N)
set +e
timeout -k 5 "${MWI_VM_TIMEOUT:-300}" "${qemu[@]}" -m 512 -smp 1 -no-reboot \
	-display none -monitor none -serial stdio -net none \
	-kernel "$dir/vmlinuz" -initrd "$tmp/initrd" -append "$append" </dev/null |
	tr -d '\r' | tee "$tmp/console.log" | grep --line-buffered -v '^MWI-VM-FILE '
set -e
# Files a test sent back over the console ("MWI-VM-FILE NAME BASE64" lines,
# e.g. captured audio for minimodem on the host) go to $MWI_VM_OUT.
if [ -n "${MWI_VM_OUT:-}" ]; then
	mkdir -p "$MWI_VM_OUT"
	for n in $(awk '$1 == "MWI-VM-FILE" { print $2 }' "$tmp/console.log" | sort -u); do
		case $n in */* | .*) continue ;; esac
		awk -v n="$n" '$1 == "MWI-VM-FILE" && $2 == n { print $3 }' "$tmp/console.log" | base64 -d >"$MWI_VM_OUT/$n"
	done
fi
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rc=$(sed -n 's/^MWI-VM: EXIT \([0-9]*\)$/\1/p' "$tmp/console.log" | tail -1)
if [ -z "$rc" ]; then
	echo "vm/run: $arch: the VM did not report a result within ${MWI_VM_TIMEOUT:-300} s (${ms} ms)" >&2
	exit 98
fi
echo "vm/run: $arch: exit $rc, boot+test+poweroff ${ms} ms" >&2
exit "$rc"
