#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The man pages against the library they document (make check runs it).
#
# Fails, naming each problem, when
#  - a public function has no page in man/man3: every symbol of
#    ulib/libkpool.map and every static inline function of the public
#    headers needs man3/NAME.3, its own page or a ".so man3/PAGE.3" line;
#  - a page names a function that does not exist (any more): a page file
#    kpool_*.3, a name in a NAME section, or kpool_something( written in
#    any page (text, examples, SEE ALSO) that is no public function;
#  - the pages do not hang together: a .so page whose target is missing,
#    is itself a .so page or does not list the name in its NAME section,
#    a name in a NAME section whose NAME.3 is missing or points elsewhere,
#    a reference "page (N)" to a kpool page that does not exist;
#  - a SYNOPSIS does not give the header's prototype, exactly (whitespace
#    aside), of every function its NAME section lists;
#  - a page has a warning from groff -man -ww (and from man -l and
#    mandoc -Tlint, when they are installed);
#  - a symbol of the map has no prototype in the public headers, or a
#    prototype of the headers no symbol in the map.
# Last line: "man-check: N pages (R with text, S .so), P problems".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPOOL_TOP"

MAP=ulib/libkpool.map
HEADERS=(ulib/include/libkpool.h ulib/include/kpool_pool.h ulib/include/kpool_bufpool.h)
MAN3=man/man3
MAN7=man/man7

if [ ! -d "$MAN3" ] || [ ! -d "$MAN7" ]; then
	die "no $MAN3 or $MAN7"
fi
command -v groff >/dev/null || apt_need groff-base
command -v perl >/dev/null || apt_need perl

problems=0
problem() {
	printf 'man-check: %s\n' "$*" >&2
	problems=$((problems + 1))
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every public function of the headers, one line each:
# NAME <tab> inline|extern <tab> its prototype, normalized (see norm()).
perl -e '
	sub norm { my $p = shift; $p =~ s/\s+/ /g; $p =~ s/\( /(/g;
		$p =~ s/ \)/)/g; $p =~ s/ ,/,/g; $p =~ s/\* /*/g;
		$p =~ s/^ //; $p =~ s/ ;/;/; return $p; }
	for my $h (@ARGV) {
		local $/; open my $f, "<", $h or die "$h: $!\n";
		my $t = <$f>; close $f;
		$t =~ s{/\*.*?\*/}{ }gs;	# comments
		$t =~ s/^#.*//mg;		# preprocessor lines
		while ($t =~ m!^(static\s+inline\s+)?([A-Za-z_][\w\s*]*?)\b(kpool_\w+)\s*\(([^(){};]*)\)\s*([;{])!mg) {
			my ($inline, $ret, $name, $args, $end) = ($1, $2, $3, $4, $5);
			next if !$inline && $end eq "{";
			next if $ret =~ /\b(typedef|return)\b/;
			printf "%s\t%s\t%s\n", $name, $inline ? "inline" : "extern",
				norm("$ret $name($args);");
		}
	}' "${HEADERS[@]}" | sort -u >"$work/protos"
[ -s "$work/protos" ] || die "no function found in ${HEADERS[*]}"
cut -f1,2 "$work/protos" | awk -F'\t' '$2 == "extern" { print $1 }' >"$work/extern"
cut -f1 "$work/protos" >"$work/known"

# The map's symbols: every "kpool_name;" line of a version node.
sed -n 's/^[[:space:]]*\(kpool_[A-Za-z0-9_]*\)[[:space:]]*;.*/\1/p' "$MAP" |
	sort -u >"$work/map"
[ -s "$work/map" ] || die "no symbol found in $MAP"

while read -r sym; do
	problem "$MAP: $sym has no prototype in ${HEADERS[*]}"
done < <(comm -23 "$work/map" "$work/extern")
while read -r sym; do
	problem "${HEADERS[*]}: $sym is declared but not in $MAP"
done < <(comm -13 "$work/map" "$work/extern")

# The names that need a page: the map's and the headers' (inline too).
sort -u "$work/map" "$work/known" >"$work/public"
cat "$work/map" >>"$work/known"
sort -u -o "$work/known" "$work/known"

# A page's .so target (its "man3/x.3"), or nothing for a page with text.
so_target() {
	sed -n '1{/^\.so[[:space:]]/{s/^\.so[[:space:]]*//;s/[[:space:]]*$//;p}}' "$1"
}

# The names of a page with text: its NAME section up to "\-".
name_list() {
	awk '/^\.SH[[:space:]]+"?NAME"?[[:space:]]*$/ { on = 1; next }
	     on && /^\.SH/ { exit }
	     on { print }' "$1" | tr '\n' ' ' | sed 's/\\-.*//; s/,/ /g' |
		tr -s ' ' '\n' | sed '/^$/d'
}

# 1. Every public function has a page.
while read -r fn; do
	[ -e "$MAN3/$fn.3" ] || problem "$fn: no page $MAN3/$fn.3"
done <"$work/public"

# 2. Each page: its name, its .so target or its NAME section, SYNOPSIS.
pages=0 real=0 so=0
for page in "$MAN3"/*.3 "$MAN7"/*.7; do
	[ -e "$page" ] || continue
	pages=$((pages + 1))
	base=$(basename "$page")
	stem=${base%.*}
	case $stem in
	kpool_*)
		grep -qxF "$stem" "$work/known" ||
			problem "$page: no function $stem in $MAP or the headers" ;;
	esac
	target=$(so_target "$page")
	if [ -n "$target" ]; then
		so=$((so + 1))
		if [ ! -e "man/$target" ]; then
			problem "$page: .so target man/$target does not exist"
		elif [ -n "$(so_target "man/$target")" ]; then
			problem "$page: .so target man/$target is itself a .so page"
		elif ! grep -qxF "$stem" <<<"$(name_list "man/$target")"; then
			problem "$page: man/$target does not list $stem in its NAME section"
		fi
		continue
	fi
	real=$((real + 1))
	names=$(name_list "$page")
	[ -n "$names" ] || problem "$page: no NAME section"
	for n in $names; do
		case $n in kpool_*) ;; *) continue ;; esac
		if ! grep -qxF "$n" "$work/known"; then
			problem "$page: NAME lists $n, which is no public function"
			continue
		fi
		[ "$page" = "$MAN3/$n.3" ] && continue
		[ "$(so_target "$MAN3/$n.3" 2>/dev/null || true)" = "man3/$base" ] ||
			problem "$page: NAME lists $n, but $MAN3/$n.3 is not \".so man3/$base\""
	done

	# The SYNOPSIS as a reader sees it, one line, spacing normalized.
	syn=$(groff -man -Tascii -P-cbou -rLL=300n "$page" 2>/dev/null |
		awk '/^SYNOPSIS/ { on = 1; next } on && /^[A-Z]/ { exit } on' |
		tr '\n' ' ' | perl -pe 's/\s+/ /g; s/\( /(/g; s/ \)/)/g;
			s/ ,/,/g; s/\* /*/g')
	for n in $names; do
		grep -qxF "$n" "$work/known" || continue
		proto=$(awk -F'\t' -v n="$n" '$1 == n { print $3 }' "$work/protos")
		[ -n "$proto" ] || continue	# a map symbol without prototype: above
		case $syn in
		*"$proto"*) ;;
		*) problem "$page: SYNOPSIS lacks the prototype of $n: $proto" ;;
		esac
	done
done

# 3. Every function a page names exists, and every kpool page it refers
# to.  Per source line, font escapes and quotes removed.
for page in "$MAN3"/*.3 "$MAN7"/*.7; do
	[ -n "$(so_target "$page")" ] || printf '%s\n' "$page"
done >"$work/texts"
# shellcheck disable=SC2016 # perl's variables, not the shell's
while IFS= read -r l; do
	problem "$l"
done < <(xargs perl -e '
	open my $k, "<", shift or die; my %known = map { chomp; $_ => 1 } <$k>;
	while (<>) {
		s/\\f(\[[^]]*\]|\(..|.)//g; s/\\&//g; s/\\-/-/g; tr/"//d;
		while (/\b(kpool_[a-z0-9_]+)\s*\(/g) {
			print "$ARGV:$.: names $1(), which is no public function\n"
				unless $known{$1};
		}
		while (/\b((?:lib)?kpool(?:_[a-z0-9_]+)?)\s*\(([1-8])\)/g) {
			print "$ARGV:$.: refers to $1($2), which has no page in man/man$2\n"
				unless -e "man/man$2/$1.$2";
		}
	} continue { close ARGV if eof }' "$work/known" <"$work/texts")

# 4. Render each page as groff, man and mandoc would, warnings on; .so
# lines are relative to man/.
(
	cd man
	for page in man3/*.3 man7/*.7; do
		out=$(groff -man -ww -z "$page" 2>&1) || true
		[ -z "$out" ] || printf 'groff: %s: %s\n' "$page" "$out"
		# A .so page renders as its target: mandoc calls .so fragile.
		[ -n "$(so_target "$page")" ] && continue
		if command -v man >/dev/null; then
			out=$(MANWIDTH=80 man -l -Tutf8 "$page" 2>&1 >/dev/null) || true
			[ -z "$out" ] || printf 'man -l: %s: %s\n' "$page" "$out"
		fi
		if command -v mandoc >/dev/null; then
			out=$(mandoc -Tlint -Wwarning "$page" 2>&1) || true
			[ -z "$out" ] || printf 'mandoc -Tlint: %s: %s\n' "$page" "$out"
		fi
	done
) >"$work/render"
while IFS= read -r l; do
	problem "$l"
done <"$work/render"

say "man-check: $pages pages ($real with text, $so .so), $problems problems"
[ "$problems" -eq 0 ]
