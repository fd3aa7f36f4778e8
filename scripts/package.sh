#!/usr/bin/env bash
# Build the mwi-agent .deb packages into dist/ with nfpm.
#
#   scripts/package.sh [ARCH...]     ARCH: armhf arm64 amd64 (default: all)
#
# The armhf package carries the ARMv6 binary, so it runs on every 32-bit
# Raspberry Pi OS (Pi Zero/1 included), whose "armhf" userland is ARMv6.
# Package contents: scripts/packaging/ (nfpm.yaml, systemd unit, udev rules,
# postinst/prerm/postrm, example config).
#
# Environment:
#   VERSION, COMMIT      passed to scripts/build.sh (default from git)
#   DEB_VERSION          package version (default: from git describe: tag
#                        v1.2.3 -> 1.2.3, 4 commits later -> 1.2.3+git4.gHASH;
#                        no tag -> 0.0.0~gitYYYYMMDD.HASH from the commit date)
#   SOURCE_DATE_EPOCH    file times in the package (default: commit time);
#                        with the same value two runs give identical .debs
#   SKIP_BUILD=1         use the binaries already in $DIST
#   DIST                 output directory (default <repo>/dist)
#   NFPM                 nfpm command (default: go run of the pinned version)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
NFPM_VERSION=v2.43.0

archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(armhf arm64 amd64)
export DIST=${DIST:-$root/dist}
mkdir -p "$DIST"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH

if [ -z "${DEB_VERSION:-}" ]; then
	if desc=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
		# v1.2.3-4-gabcdef -> 1.2.3+git4.gabcdef; v1.2.3-0-g... -> 1.2.3
		base=${desc%-*-g*}
		rest=${desc#"$base"-}
		n=${rest%%-*}
		hash=${rest#*-}
		DEB_VERSION=${base#v}
		[ "$n" = 0 ] || DEB_VERSION="$DEB_VERSION+git$n.$hash"
	elif hash=$(git rev-parse --short=12 HEAD 2>/dev/null); then
		DEB_VERSION="0.0.0~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d).$hash"
	else
		DEB_VERSION="0.0.0~dev"
	fi
fi
export DEB_VERSION

nfpm=(go run "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION")
[ -z "${NFPM:-}" ] || read -r -a nfpm <<<"$NFPM"

for a in "${archs[@]}"; do
	case $a in
	armhf) target=armv6 ;;
	arm64) target=arm64 ;;
	amd64) target=amd64 ;;
	*)
		echo "package.sh: unknown architecture $a (want armhf, arm64 or amd64)" >&2
		exit 2
		;;
	esac
	if [ "${SKIP_BUILD:-0}" != 1 ]; then
		scripts/build.sh "$target" >/dev/null
	fi
	export DEB_ARCH=$a BINARY=$DIST/mwi-agent_linux_$target
	[ -f "$BINARY" ] || { echo "package.sh: $BINARY missing (run scripts/build.sh $target)" >&2; exit 1; }
	out=$DIST/mwi-agent_${DEB_VERSION}_$a.deb
	(cd scripts/packaging && "${nfpm[@]}" package --config nfpm.yaml --packager deb --target "$out" >/dev/null)
	printf '%-50s %9d bytes\n' "$(basename "$out")" "$(stat -c %s "$out")"
done
