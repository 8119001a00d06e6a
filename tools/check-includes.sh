#!/bin/sh
# The direction of includes in src/daemon (docs/ARCHITECTURE.md, "Layers"):
#  1. the domain (container/ exec/ network/ volume/ build/) never includes
#     http/ or api/: it sees clients as streams (stream.h) and reports errors
#     as arca_error;
#  2. http/ includes nothing of the daemon outside http/;
#  3. nothing but api/, daemon.c and main.c includes api/;
#  4. in container/, only lifecycle.c includes lifecycle.h: the parts reach
#     the lifecycle through struct container_hooks, never by name.
# Prints each violation; exits 1 if there is one.
set -eu
cd "$(dirname "$0")/../src/daemon"

# Which folder of src/daemon holds the header a quoted include names ("" if none).
home() {
	found=$(find . -name "$1" -not -path './build*' | head -n 1)
	[ -n "$found" ] || return 0
	dir=$(dirname "$found")
	echo "${dir#./}"
}

bad=0
incs=$(mktemp)
violation() {
	echo "check-includes: $1 includes $2 ($3)"
	bad=1
}

for f in $(find . -name '*.[ch]' | sed 's|^\./||' | sort); do
	dir=$(dirname "$f")
	sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" >"$incs"
	while read -r inc; do
		h=$(home "$(basename "$inc")")
		[ -n "$h" ] || continue # a header of another library
		case "$dir" in
		container | container/* | exec | exec/* | network | network/* | volume | volume/* | build | build/*)
			case "$h" in
			http | api) violation "$f" "$inc" "the domain never sees HTTP" ;;
			esac
			;;
		http)
			[ "$h" = http ] || violation "$f" "$inc" "http/ stands alone"
			;;
		esac
		case "$h" in
		api)
			case "$f" in
			api/* | daemon.c | main.c) ;;
			*) violation "$f" "$inc" "only the composition root uses api/" ;;
			esac
			;;
		esac
		if [ "$(basename "$inc")" = lifecycle.h ]; then
			case "$f" in
			container/lifecycle.c | container/lifecycle.h | api/* | daemon.c) ;;
			*) violation "$f" "$inc" "the parts reach the lifecycle through its hooks" ;;
			esac
		fi
	done <"$incs"
done
rm -f "$incs"
[ "$bad" = 0 ] && echo "check-includes: ok"
exit "$bad"
