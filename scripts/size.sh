#!/usr/bin/env bash
# What pulls weight in the mwi-agent binary: per-package sizes of the
# code and data the linker kept (go tool nm -size), largest first, for one
# scripts/build.sh target, built as build.sh builds it but with symbols.
#
#   scripts/size.sh [TARGET] [N]     TARGET: armv6 (default) armv7 arm64 amd64
#                                    N: how many packages to list (default 40)
#   scripts/size.sh armv6 0          # all of them
#
# The first line is the stripped release binary's size (scripts/build.sh).
# The per-package figures are symbol sizes (text, rodata, data; not bss)
# and leave out the runtime's tables that scale with the code (pclntab,
# about a third of the file). To see why a package is linked at all:
# go build -ldflags=-dumpdep ... 2>&1 | grep 'PACKAGE'.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${1:-armv6}
n=${2:-40}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

DIST=$tmp VERSION=size COMMIT=size scripts/build.sh "$target" >/dev/null
printf '%-40s %9d bytes (stripped, scripts/build.sh %s)\n' "release binary" "$(stat -c %s "$tmp/mwi-agent_linux_$target")" "$target"

# the same build with symbols: take build.sh's tags and gcflags from the
# stripped one's build info
info=$(go version -m "$tmp/mwi-agent_linux_$target")
tags=$(sed -n 's/^[[:space:]]*build[[:space:]]*-tags=//p' <<<"$info")
gcflags=$(sed -n 's/^[[:space:]]*build[[:space:]]*-gcflags=//p' <<<"$info")
goarch=$(sed -n 's/^[[:space:]]*build[[:space:]]*GOARCH=//p' <<<"$info")
goarm=$(sed -n 's/^[[:space:]]*build[[:space:]]*GOARM=//p' <<<"$info")
CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm GOFLAGS=-buildvcs=false \
	go build -trimpath ${tags:+-tags "$tags"} ${gcflags:+-gcflags "$gcflags"} -o "$tmp/sym" ./agent/cmd/mwi-agent
# bss (zeroed at start, not in the file): skip symbols in that range
bss=$(readelf -SW "$tmp/sym" | awk '$2 ~ /^\.(noptr)?bss$/ { print $4, $6 }' | while read -r a l; do
	echo "$((16#$a)) $((16#$a + 16#$l))"
done | sort -n | awk 'NR == 1 { lo = $1 } { hi = $2 } END { print lo, hi }')
go tool nm -size "$tmp/sym" | awk -v lo="${bss% *}" -v hi="${bss#* }" '
	function hex(s,   i, n, c) { n = 0; s = tolower(s); for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; n = n * 16 + c }; return n }
	$3 ~ /^[TtRrDd]$/ && !(hex($1) >= lo + 0 && hex($1) < hi + 0) {
		name = $4
		for (i = 5; i <= NF; i++) name = name " " $i
		p = name
		sub(/^type:\.?(eq\.)?/, "", p); sub(/^go:(itab\.)?/, "", p); sub(/^\*/, "", p); sub(/^\(\*?/, "", p)
		if (p ~ /^func\./) p = "(funcdata of all packages)"
		k = split(p, a, "/"); last = a[k]; dot = index(last, "."); if (dot > 0) last = substr(last, 1, dot - 1)
		pkg = ""; for (i = 1; i < k; i++) pkg = pkg a[i] "/"; pkg = pkg last
		s[pkg] += $2; tot += $2
	}
	END { for (k in s) printf "%9d %s\n", s[k], k; printf "%9d %s\n", tot, "(all symbols)" }' |
	sort -rn | { if [ "$n" = 0 ]; then cat; else head -n "$((n + 1))"; fi; }
