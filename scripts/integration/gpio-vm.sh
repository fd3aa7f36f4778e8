#!/usr/bin/env bash
# The GPIO backend against a real Linux kernel: for each architecture, boot a
# stock Debian 12 kernel under qemu (TCG) with gpio-sim chips and the
# snd-aloop loopback sound card and run the hal/gpiocdev and agent/hw tests
# inside it (MWI_GPIOSIM=1, MWI_ALOOP=1): the Ag1171 model on gpio-sim
# lines, and the skew between line steps and audio (printed as "skew:"),
# with the captured FSK decoded here by minimodem. See docs/gpio.md.
#
#   scripts/integration/gpio-vm.sh                 # amd64 arm64 armhf
#   MWI_VM_ARCHES="amd64" scripts/integration/gpio-vm.sh
#
# Kernel packages and built modules are cached in $MWI_VM_CACHE
# (default /var/cache/mwi-agent-vm), outside the repository. Needs the
# packages in scripts/deps/gpio.apt (scripts/test.sh installs them) and root
# for the first run (the cache directory).
set -euo pipefail
cd "$(dirname "$0")/../.."
arches=(${MWI_VM_ARCHES:-amd64 arm64 armhf})
t0=$(date +%s)

for tool in qemu-system-x86_64 qemu-system-aarch64 qemu-system-arm cpio dpkg-deb make gcc aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc modinfo minimodem; do
	command -v "$tool" >/dev/null || { echo "gpio-vm: $tool missing (install scripts/deps/gpio.apt)" >&2; exit 1; }
done

mapfile -t dirs < <(scripts/vm/build.sh "${arches[@]}")
[ ${#dirs[@]} -eq ${#arches[@]} ] || { echo "gpio-vm: scripts/vm/build.sh failed" >&2; exit 1; }
echo "gpio-vm: kernels and modules ready in $(( $(date +%s) - t0 )) s"

tmp=$(mktemp -d /tmp/mwi-gpio-vm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
for i in "${!arches[@]}"; do
	arch=${arches[$i]} dir=${dirs[$i]}
	case $arch in
	amd64) env=(GOARCH=amd64) ;;
	arm64) env=(GOARCH=arm64) ;;
	armhf) env=(GOARCH=arm GOARM=6) ;;
	esac
	t1=$(date +%s)
	mkdir -p "$tmp/$arch"
	env CGO_ENABLED=0 GOOS=linux "${env[@]}" go test -c -o "$tmp/$arch/gpiocdev.test" ./hal/gpiocdev
	env CGO_ENABLED=0 GOOS=linux "${env[@]}" go test -c -o "$tmp/$arch/hw.test" ./agent/hw
	env CGO_ENABLED=0 GOOS=linux "${env[@]}" go test -c -o "$tmp/$arch/selftest.test" ./agent/cmd/mwi-agent
	echo "gpio-vm: $arch: test binary built in $(( $(date +%s) - t1 )) s; booting $(cat "$dir/info" | tr '\n' ' ')"
	if MWI_VM_OUT="$tmp/$arch/out" scripts/vm/run.sh "$arch" "$dir" "$tmp/$arch/gpiocdev.test" "$tmp/$arch/hw.test" "$tmp/$arch/selftest.test=InVM" -- -test.v -test.count=1 -test.timeout=240s | tee "$tmp/$arch/console.log"; then
		echo "gpio-vm: $arch: PASS"
	else
		echo "gpio-vm: $arch: FAIL"
		fail=1
	fi
	# The FSK captured from the snd-aloop card in the VM, decoded on the host
	# by an independent decoder (minimodem); the skews the VM measured.
	grep '^MWI-SKEW' "$tmp/$arch/console.log" | sed "s/^MWI-SKEW /gpio-vm: $arch: skew: /" || true
	n=0
	for hexf in "$tmp/$arch/out"/aloop-*.hex; do
		[ -e "$hexf" ] || continue
		read -r std want <"$hexf"
		wav=${hexf%.hex}.wav
		args=(--rx 1200 -q -f "$wav")
		[ "$std" = v23 ] && args+=(-M 1300 -S 2100)
		got=$(minimodem "${args[@]}" 2>/dev/null | od -An -tx1 | tr -d ' \n')
		if [[ $got == *"$want"* ]]; then
			echo "gpio-vm: $arch: minimodem ($std) decoded $(basename "$wav"): $want"
			n=$((n + 1))
		else
			echo "gpio-vm: $arch: minimodem ($std) did not find $want in $(basename "$wav"): got ${got:-nothing}"
			fail=1
		fi
	done
	if grep -q -- '--- SKIP: TestVMAudioSkewAloop' "$tmp/$arch/console.log"; then
		echo "gpio-vm: $arch: audio skew test skipped some alerts (the guest was starved; see above): $n of 4 decoded by minimodem"
	elif [ $n -lt 4 ]; then
		echo "gpio-vm: $arch: FAIL: $n of 4 captured transmissions decoded by minimodem"
		fail=1
	fi
done
echo "gpio-vm: ${arches[*]} done in $(( $(date +%s) - t0 )) s"
exit $fail
