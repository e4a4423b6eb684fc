#!/usr/bin/env bash
# t0303.sh [--suite 2.39|newlib|2.47] [--backend B] [--path DIR] [--setup SHELL] HELPER [-- TEST-LIB-OPTS]
#
# Runs git's own battery for external credential helpers (t/t0303-credential-external.sh with
# t/lib-credential.sh) against `git credential-HELPER`, from the git sources of Debian's source
# package, downloaded at run time into ${GATEPASS_T0303_CACHE:-~/.cache/gatepass-t0303} with a
# private apt state (the system's apt configuration is not touched; the archive is read from the
# machine's own apt sources). Nothing of git's is kept in this repository.
#
#   2.39    git 2.39.5's own t0303 (12 tests) against the installed git (GIT_TEST_INSTALLED, /usr/bin)
#   newlib  (default) git 2.39.5's harness with the lib-credential.sh and t0303 of git 2.47.3
#           (21 tests) against the installed git; 16, 18, 19 and 21 are skipped: git 2.39 itself
#           drops wwwauth[], password_expiry_utc and oauth_refresh_token before they reach a helper
#   2.47    git 2.47.3's harness with a git 2.47.3 built from the same source (about 75 s on
#           2 cores, once; the build is cached), all 21 tests
#
# Isolation. test-lib.sh sets HOME to its trash directory and unsets XDG_CONFIG_HOME,
# XDG_CACHE_HOME and most GIT_* variables; everything else (XDG_DATA_HOME, GATEPASS_*,
# DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR) reaches the helper. So before the tests the helper
# setup (GIT_TEST_CREDENTIAL_HELPER_SETUP, eval'd inside the trash directory) points
# XDG_DATA_HOME into the trash directory, sets GATEPASS_CONFIG to the caller's value or /dev/null
# (no config layer: /etc/gatepass is not read) and GATEPASS_STORE_BACKEND to --backend, else the
# caller's value, else encrypted-file (never "auto", which could pick the desktop keyring).
# secret-service talks to whatever bus DBUS_SESSION_BUS_ADDRESS names: give it a private one
# (tests/e2e/test_t0303.py does). --setup SHELL is eval'd after that and may override any of it.
#
#   --path DIR   put DIR first on PATH so git finds git-credential-HELPER (repeatable)
#   --git-2.47   only build git 2.47.3 (cached) and print the path of its `git`; no HELPER, no tests
#   --prepare    only fetch and prepare every suite's sources (2.47.3 built) and print the cache
#                directory; no HELPER, no tests (a copy of that directory serves another user)
#   -- OPTS      passed to the test script (-v, -i, -x, -d --debug keeps the trash directory)
#
# Last line: "t0303 SUITE HELPER: N passed, N failed, N skipped"; exit status: the test script's.
set -uo pipefail
suite=newlib backend=${GATEPASS_STORE_BACKEND:-encrypted-file} setup= extra_path= git_only= prepare_only=
while [ $# -gt 0 ]; do
	case $1 in
	--suite) suite=$2; shift 2 ;;
	--backend) backend=$2; shift 2 ;;
	--path) extra_path=$(cd "$2" && pwd)${extra_path:+:$extra_path} || exit 2; shift 2 ;;
	--setup) setup=$2; shift 2 ;;
	--git-2.47) git_only=1; shift ;;
	--prepare) prepare_only=1; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "t0303: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ -n "$git_only$prepare_only" ] && set -- git-only
helper=${1:?usage: t0303.sh [--suite S] [--backend B] [--path DIR] [--setup SHELL] HELPER [-- OPTS]}
shift
[ "${1:-}" = -- ] && shift
cache=${GATEPASS_T0303_CACHE:-$HOME/.cache/gatepass-t0303}
mkdir -p "$cache" || exit 1

# fetch VERSION: unpack Debian's git_VERSION.orig.tar.* into $cache/git-VERSION (once)
fetch() {
	local version=$1 apt=$cache/apt archive tarball tmp debver
	[ -f "$cache/git-$version/t/test-lib.sh" ] && return 0
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/dl"
	tarball=$(ls "$apt/dl/git_$version.orig.tar."* 2>/dev/null | head -1)
	if [ -z "$tarball" ]; then
		# the Debian archive this machine's apt already uses (deb822 .sources, else sources.list)
		archive=$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
		[ -n "$archive" ] || archive=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\/debian\)\/* .*/\2/p' \
			/etc/apt/sources.list 2>/dev/null | head -1)
		[ -n "$archive" ] || { echo "t0303: no Debian archive in this machine's apt sources" >&2; return 1; }
		# bookworm has git 2.39.5, trixie 2.47.3; only source indexes, in a private apt state
		printf 'deb-src %s bookworm main\ndeb-src %s trixie main\n' "$archive" "$archive" >"$apt/sources.list"
		local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
			-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
		echo "t0303: downloading Debian's git $version source package into $apt/dl" >&2
		apt-get "${opts[@]}" -qq update >&2 || return 1
		# any Debian revision of this upstream version: they all share git_VERSION.orig.tar.*
		debver=$(apt-cache "${opts[@]}" showsrc git 2>/dev/null | sed -n "s/^Version: \(1:$version-.*\)/\1/p" | head -1)
		[ -n "$debver" ] || { echo "t0303: no Debian source for git $version" >&2; return 1; }
		(cd "$apt/dl" && apt-get "${opts[@]}" -qq source --download-only "git=$debver" >&2) || return 1
		tarball=$(ls "$apt/dl/git_$version.orig.tar."* | head -1)
	fi
	tmp=$(mktemp -d "$cache/.unpack.XXXXXX") || return 1
	tar -xf "$tarball" -C "$tmp" && rm -rf "$cache/git-$version" && mv "$tmp/git-$version" "$cache/git-$version"
	local rc=$?
	rm -rf "$tmp"
	return $rc
}

# prepare DIR [build]: the generated files test-lib.sh wants, no compiling; with "build", the git
# binary too (a stamp marks a finished build, so an interrupted one is redone)
prepare() {
	local dir=$1 flags="NO_CURL=1 NO_GETTEXT=1 NO_TCLTK=1 NO_PERL=1 NO_PYTHON=1 NO_RUST=1"
	(
		cd "$dir" || exit 1
		if [ "${2:-}" = build ] && [ ! -f .gatepass-built ]; then
			echo "t0303: building git in $dir (once, about 75 s on 2 cores)" >&2
			start=$SECONDS
			make -j"$(nproc)" $flags git >.gatepass-build.log 2>&1 || { tail -20 .gatepass-build.log >&2; exit 1; }
			touch .gatepass-built
			echo "t0303: built in $((SECONDS - start)) s" >&2
		fi
		[ -f GIT-BUILD-OPTIONS ] || make $flags GIT-BUILD-OPTIONS >/dev/null 2>&1 || exit 1
		[ -d templates/blt ] || make -C templates SHELL_PATH=/bin/sh >/dev/null 2>&1 || exit 1
		# test-tool is not built: test-lib needs it to exist, and 2.47's asks it only
		# "env-helper --type=bool --default=D --exit-code VAR" (is VAR true?); t0303 never runs it
		if [ ! -e t/helper/test-tool ] || [ "$(head -c2 t/helper/test-tool)" = "#!" ]; then
			mkdir -p t/helper
			cat >t/helper/test-tool <<-\EOF
			#!/bin/sh
			# stub written by gatepass's tests/conformance/t0303.sh
			if [ "$1" = env-helper ]; then
				default=false var=
				for a; do case $a in --default=*) default=${a#--default=} ;; -*|env-helper) ;; *) var=$a ;; esac; done
				case $var in ''|*[!A-Za-z0-9_]*) exit 2 ;; esac
				eval "value=\${$var-\$default}"
				case $value in [Tt][Rr][Uu][Ee]|[Yy][Ee][Ss]|[Oo][Nn]|1) exit 0 ;; [Ff][Aa][Ll][Ss][Ee]|[Nn][Oo]|[Oo][Ff][Ff]|0|'') exit 1 ;; esac
				exit 2
			fi
			echo "test-tool $1: not built (a stub of tests/conformance/t0303.sh)" >&2
			exit 2
			EOF
			chmod +x t/helper/test-tool
		fi
	)
}

# One runner at a time prepares the cache (parallel test runs share it).
exec 9>"$cache/.lock"
flock 9 2>/dev/null || true
if [ -n "$prepare_only" ]; then
	fetch 2.39.5 && fetch 2.47.3 && prepare "$cache/git-2.39.5" && prepare "$cache/git-2.47.3" build || exit 1
	echo "$cache"
	exit 0
fi
if [ -n "$git_only" ]; then
	fetch 2.47.3 && prepare "$cache/git-2.47.3" build || exit 1
	echo "$cache/git-2.47.3/git"
	exit 0
fi
case $suite in
2.39)
	fetch 2.39.5 && prepare "$cache/git-2.39.5" || exit 1
	top=$cache/git-2.39.5 script=t0303-credential-external.sh
	export GIT_TEST_INSTALLED=${GIT_TEST_INSTALLED:-/usr/bin} ;;
newlib)
	fetch 2.39.5 && fetch 2.47.3 && prepare "$cache/git-2.39.5" || exit 1
	top=$cache/git-2.39.5 script=t0303-gatepass-newlib.sh
	cp "$cache/git-2.47.3/t/lib-credential.sh" "$top/t/lib-credential-newlib.sh" || exit 1
	sed 's#"\$TEST_DIRECTORY"/lib-credential.sh#"$TEST_DIRECTORY"/lib-credential-newlib.sh#' \
		"$cache/git-2.47.3/t/t0303-credential-external.sh" >"$top/t/$script" || exit 1
	export GIT_TEST_INSTALLED=${GIT_TEST_INSTALLED:-/usr/bin}
	export GIT_SKIP_TESTS="t0303.16 t0303.18 t0303.19 t0303.21"
	echo "# skipping t0303.16 18 19 21: they need git >= 2.41 in front of the helper; git 2.39 drops" \
		"wwwauth[], password_expiry_utc and oauth_refresh_token before any helper sees them" ;;
2.47)
	fetch 2.47.3 && prepare "$cache/git-2.47.3" build || exit 1
	top=$cache/git-2.47.3 script=t0303-credential-external.sh
	unset GIT_TEST_INSTALLED ;;
*) echo "t0303: unknown suite $suite" >&2; exit 2 ;;
esac
exec 9>&-

[ -n "$extra_path" ] && export PATH="$extra_path:$PATH"
export GIT_TEST_CREDENTIAL_HELPER=$helper
# eval'd by t0303 inside the trash directory, where $HOME is the trash directory
export GIT_TEST_CREDENTIAL_HELPER_SETUP="export XDG_DATA_HOME=\"\$HOME/.local/share\" \
GATEPASS_CONFIG=\"${GATEPASS_CONFIG:-/dev/null}\" GATEPASS_STORE_BACKEND=\"$backend\"${setup:+
$setup}"
echo "# helper setup: $(echo "$GIT_TEST_CREDENTIAL_HELPER_SETUP" | tr '\n' ';')"
unset GIT_TEST_CREDENTIAL_HELPER_TIMEOUT
root=$(mktemp -d "${TMPDIR:-/tmp}/gatepass-t0303.XXXXXX") || exit 1
# Output goes to a file, not a pipe: a helper that daemonizes (git's `cache`) keeps a pipe open.
( cd "$top/t" && exec sh "./$script" --root="$root" "$@" ) >"$root.tap" 2>&1 </dev/null
rc=$?
cat "$root.tap"
passed=$(grep -c '^ok [0-9]* - ' "$root.tap") skipped=$(grep -c '^ok [0-9]* # skip' "$root.tap")
failed=$(grep -c '^not ok ' "$root.tap")
rm -f "$root.tap"
case " $* " in
*" -d "*|*" --debug "*) echo "# trash directories kept under $root" ;;
*) rm -rf "$root" ;;
esac
echo "t0303 $suite $helper: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
