#!/usr/bin/env bash
# Run the unit tests of the pure (hardware-free) packages as ARM binaries
# under qemu-user-static, so byte-order, alignment and 32-bit problems show up:
# GOARCH=arm GOARM=6 (Pi Zero/1, 32-bit Raspberry Pi OS) under
# qemu-arm-static -cpu arm1176 (the Pi Zero's CPU) and GOARCH=arm64 under
# qemu-aarch64-static -cpu cortex-a53. binfmt_misc is not needed: the
# emulator is invoked directly. Integration tests are off (MWI_INTEGRATION
# unset), so nothing external is required.
#
# The package list is fixed; packages that do not exist (yet) are skipped
# with a note. Environment: ARM_QEMU_PKGS overrides the list.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
pkgs=(${ARM_QEMU_PKGS:-agent/summary agent/config agent/state agent/indicate agent/piconf tone display boards})
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset MWI_INTEGRATION

for q in qemu-arm-static qemu-aarch64-static; do
	command -v "$q" >/dev/null || { echo "arm-qemu-user.sh: $q not installed (qemu-user-static, scripts/deps/ship.apt)" >&2; exit 1; }
done

present=()
for p in "${pkgs[@]}"; do
	if compgen -G "$p/*_test.go" >/dev/null; then
		present+=("$p")
	else
		echo "skip $p: no such package or no tests yet"
	fi
done
[ ${#present[@]} -gt 0 ] || { echo "arm-qemu-user.sh: none of the packages exist" >&2; exit 1; }

failed=()
ran=0
for arch in arm6 arm64; do
	case $arch in
	# arm1176: the Pi Zero / Pi 1 CPU, so an ARMv7-only instruction traps;
	# cortex-a53: Pi 3 / Zero 2 W
	arm6) env=(GOARCH=arm GOARM=6) qemu=(qemu-arm-static -cpu arm1176) ;;
	arm64) env=(GOARCH=arm64) qemu=(qemu-aarch64-static -cpu cortex-a53) ;;
	esac
	for p in "${present[@]}"; do
		bin=$tmp/$arch/$(echo "$p" | tr / _).test
		mkdir -p "$tmp/$arch"
		if ! env CGO_ENABLED=0 GOOS=linux "${env[@]}" go test -c -o "$bin" "./$p" 2>"$tmp/build.log"; then
			cat "$tmp/build.log"
			failed+=("$arch:$p (build)")
			continue
		fi
		[ -e "$bin" ] || { echo "$arch $p: no test binary (no tests)"; continue; }
		t0=$(date +%s)
		# run in the package directory so testdata/ resolves as under go test
		if (cd "$p" && timeout 600 "${qemu[@]}" "$bin" -test.v -test.short -test.timeout=8m >"$tmp/run.log" 2>&1); then
			echo "ok   $arch $p: $(grep -c -- '^--- PASS' "$tmp/run.log") passed, $(grep -c -- '^--- SKIP' "$tmp/run.log") skipped ($(( $(date +%s) - t0 )) s)"
		else
			echo "FAIL $arch $p"
			tail -40 "$tmp/run.log"
			failed+=("$arch:$p")
		fi
		ran=$((ran + 1))
	done
done
echo "arm-qemu-user.sh: $ran test binaries run, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
