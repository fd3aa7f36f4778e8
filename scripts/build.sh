#!/usr/bin/env bash
# Cross-compile mwi-agent into dist/ for the Raspberry Pi family and amd64.
#
#   scripts/build.sh [TARGET...]      TARGET: armv6 armv7 arm64 amd64 (default: all)
#
# Static (CGO_ENABLED=0), -trimpath, stripped (-s -w), no VCS stamping by the toolchain: the
# version and commit are passed with -ldflags -X and shown by
# "mwi-agent version". Building the same commit twice gives identical bytes
# (scripts/integration/ship.sh checks it with a fresh build cache and a
# different source path).
#
# Environment:
#   VERSION  version string (default: git describe --tags --always --dirty,
#            or "dev" outside a git checkout)
#   COMMIT   commit id (default: git rev-parse --short=12 HEAD, or "none")
#   DIST     output directory (default: <repo>/dist)
#
# Output: $DIST/mwi-agent_linux_<target> per target, and one line per
# artefact with its size on stdout.
#
# Which binary for which Pi:
#   armv6  Pi Zero / Zero W / Pi 1 (and any 32-bit Raspberry Pi OS: its
#          "armhf" userland is ARMv6, so the armhf .deb carries this binary)
#   armv7  Pi 2/3/4 running a 32-bit ARMv7 distribution (Debian armhf)
#   arm64  Pi 3/4/5/Zero 2 W running 64-bit Raspberry Pi OS
#   amd64  PCs, VMs, CI
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(armv6 armv7 arm64 amd64)

if [ -z "${VERSION:-}" ]; then
	VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
fi
if [ -z "${COMMIT:-}" ]; then
	COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo none)
fi
DIST=${DIST:-$root/dist}
mkdir -p "$DIST"

ldflags="-s -w -buildid= -X main.version=$VERSION -X main.commit=$COMMIT"
# nethttpomithttp2: net/http without its bundled HTTP/2 (about 0.5 MB of
# the armv6 binary). Nothing here speaks HTTP/2: the status page and the
# status socket are plain HTTP/1.1 (HTTP/2 is only negotiated over TLS),
# and the SIP WebSocket transport upgrades an HTTP/1.1 request.
tags=nethttpomithttp2
# armv6 only: -gcflags=all=-l (no inlining), 11 % smaller (8.91 -> 7.93 MB,
# the Pi Zero / Pi 1 binary, also in the armhf .deb) and about 0.3 MB fewer
# resident executable pages. It costs CPU: on amd64 a 256-account start-up
# took 0.19-0.22 s of CPU instead of 0.11-0.16 s (wall time to all
# subscribed unchanged, the agent waits on the network; docs/sip.md). The
# other targets keep inlining.
#
# armv6 and armv7: -R 0x1000, segments aligned to 4 KB in the file instead
# of the Go linker's linux/arm default of 64 KB. 32-bit ARM Linux always
# uses 4 KB pages, so the padding up to each 64 KB boundary (on average
# 32 KB per segment, 74 KB in the armv6 binary when this was added) is
# never of use; the kernel loads either layout (checked by booting the
# armhf VM of scripts/vm with 4 KB-aligned test binaries). arm64 keeps the
# default: arm64 kernels may use 16 KB or 64 KB pages (the Pi 5's uses
# 16 KB).

for t in "${targets[@]}"; do
	goarch= goarm= gcflags= round=
	case $t in
	armv6) goarch=arm goarm=6 gcflags=all=-l round="-R 0x1000" ;;
	armv7) goarch=arm goarm=7 round="-R 0x1000" ;;
	arm64) goarch=arm64 ;;
	amd64) goarch=amd64 ;;
	*)
		echo "build.sh: unknown target $t (want armv6, armv7, arm64 or amd64)" >&2
		exit 2
		;;
	esac
	out=$DIST/mwi-agent_linux_$t
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm GOFLAGS=-buildvcs=false \
		go build -trimpath -tags "$tags" -gcflags "$gcflags" -ldflags "$ldflags${round:+ $round}" -o "$out" ./agent/cmd/mwi-agent
	printf '%-28s %9d bytes  (%s, version %s)\n' "$(basename "$out")" "$(stat -c %s "$out")" "$t" "$VERSION"
done
