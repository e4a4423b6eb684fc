#!/usr/bin/env bash
# t0303.sh [--suite 2.39|newlib|2.47] [--backend encrypted-file|secret-service] [--path DIR] HELPER
#
# Runs git's own battery for external credential helpers (t/t0303-credential-external.sh with
# t/lib-credential.sh) against `git credential-HELPER`, from the git sources of Debian's source
# package, downloaded at run time into ${GATEPASS_T0303_CACHE:-~/.cache/gatepass-t0303} with a
# private apt state (the system's apt configuration is not touched; its archive is read from the
# machine's apt sources). Nothing of git's is kept in this repository.
#
#   2.39    git 2.39.5's own t0303 (12 tests) against the installed git
#   newlib  git 2.39.5's harness with the lib-credential.sh and t0303 of git 2.47.3 (21 tests);
#           16, 18, 19 and 21 are skipped: git 2.39 itself drops wwwauth[], password_expiry_utc and
#           oauth_refresh_token before they reach a helper, so no helper can pass them behind it
#   2.47    git 2.47.3's harness with a git 2.47.3 built from the same source (about 75 s on 2 cores,
#           cached), all 21 tests
#
# --backend sets GATEPASS_STORE_BACKEND for the helper; the store lives in each test trash
# directory (XDG_DATA_HOME, XDG_CONFIG_HOME under its HOME). DBUS_SESSION_BUS_ADDRESS passes through.
# Last line: "t0303 SUITE HELPER: N passed, N failed, N skipped"; exit status: the test script's.
set -uo pipefail
suite=newlib backend=encrypted-file extra_path=
while [ $# -gt 0 ]; do
	case $1 in
	--suite) suite=$2; shift 2 ;;
	--backend) backend=$2; shift 2 ;;
	--path) extra_path=$(cd "$2" && pwd); shift 2 ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
helper=${1:?usage: t0303.sh [--suite S] [--backend B] [--path DIR] HELPER}
cache=${GATEPASS_T0303_CACHE:-$HOME/.cache/gatepass-t0303}
mkdir -p "$cache"

# fetch VERSION DEBIAN-REVISION-PREFIX DIST: unpack git-VERSION into $cache (once)
fetch() {
	local version=$1 dist=$2 apt=$cache/apt archive tarball tmp
	[ -f "$cache/git-$version/t/test-lib.sh" ] && return 0
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/dl"
	archive=$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	[ -n "$archive" ] || archive=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\/debian\)\/* .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
	[ -n "$archive" ] || { echo "t0303: no Debian archive in this machine's apt sources" >&2; return 1; }
	printf 'deb-src %s bookworm main\ndeb-src %s trixie main\n' "$archive" "$archive" >"$apt/sources.list"
	local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
	tarball=$(ls "$apt/dl/git_$version.orig.tar."* 2>/dev/null | head -1)
	if [ -z "$tarball" ]; then
		apt-get "${opts[@]}" -qq update >&2 || return 1
		local debver
		debver=$(apt-cache "${opts[@]}" showsrc git 2>/dev/null | sed -n "s/^Version: \(1:$version-.*\)/\1/p" | head -1)
		[ -n "$debver" ] || { echo "t0303: no Debian source for git $version" >&2; return 1; }
		(cd "$apt/dl" && apt-get "${opts[@]}" -qq source --download-only "git=$debver" >&2) || return 1
		tarball=$(ls "$apt/dl/git_$version.orig.tar."* | head -1)
	fi
	tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
	tar -xf "$tarball" -C "$tmp" && rm -rf "$cache/git-$version" && mv "$tmp/git-$version" "$cache/git-$version"
	rmdir "$tmp" 2>/dev/null || true
}

# prepare DIR [build]: the generated files test-lib.sh wants; build the git binary when asked
prepare() {
	local dir=$1 flags="NO_CURL=1 NO_GETTEXT=1 NO_TCLTK=1 NO_PERL=1 NO_PYTHON=1 NO_RUST=1"
	(
		cd "$dir" || exit 1
		if [ "${2:-}" = build ] && [ ! -x git ]; then
			echo "t0303: building git in $dir (once)" >&2
			make -j"$(nproc)" $flags git >.gatepass-build.log 2>&1 || { tail -20 .gatepass-build.log >&2; exit 1; }
		fi
		[ -f GIT-BUILD-OPTIONS ] || make $flags GIT-BUILD-OPTIONS >/dev/null 2>&1
		[ -d templates/blt ] || make -C templates SHELL_PATH=/bin/sh >/dev/null 2>&1
		if [ ! -x t/helper/test-tool ]; then  # test-lib only checks it exists; t0303 never runs it
			mkdir -p t/helper
			printf '#!/bin/sh\necho "test-tool is a stub here" >&2\nexit 1\n' >t/helper/test-tool
			chmod +x t/helper/test-tool
		fi
	)
}

case $suite in
2.39)
	fetch 2.39.5 bookworm && prepare "$cache/git-2.39.5" || exit 1
	top=$cache/git-2.39.5 script=t0303-credential-external.sh
	export GIT_TEST_INSTALLED=${GIT_TEST_INSTALLED:-/usr/bin} ;;
newlib)
	fetch 2.39.5 bookworm && fetch 2.47.3 trixie && prepare "$cache/git-2.39.5" || exit 1
	top=$cache/git-2.39.5 script=t0303-gatepass-newlib.sh
	cp "$cache/git-2.47.3/t/lib-credential.sh" "$top/t/lib-credential-newlib.sh"
	sed 's#"\$TEST_DIRECTORY"/lib-credential.sh#"$TEST_DIRECTORY"/lib-credential-newlib.sh#' \
		"$cache/git-2.47.3/t/t0303-credential-external.sh" >"$top/t/$script"
	export GIT_TEST_INSTALLED=${GIT_TEST_INSTALLED:-/usr/bin}
	export GIT_SKIP_TESTS="t0303.16 t0303.18 t0303.19 t0303.21"
	echo "# skipping t0303.16 18 19 21: git 2.39 drops wwwauth[], password_expiry_utc and oauth_refresh_token before any helper" ;;
2.47)
	fetch 2.47.3 trixie && prepare "$cache/git-2.47.3" build || exit 1
	top=$cache/git-2.47.3 script=t0303-credential-external.sh
	unset GIT_TEST_INSTALLED ;;
*) echo "t0303: unknown suite $suite" >&2; exit 2 ;;
esac

[ -n "$extra_path" ] && export PATH="$extra_path:$PATH"
export GIT_TEST_CREDENTIAL_HELPER=$helper
export GIT_TEST_CREDENTIAL_HELPER_SETUP="export GATEPASS_STORE_BACKEND=$backend XDG_DATA_HOME=\"\$HOME/.local/share\" GATEPASS_CONFIG=/dev/null"
unset GIT_TEST_CREDENTIAL_HELPER_TIMEOUT
root=$(mktemp -d "${TMPDIR:-/tmp}/gatepass-t0303.XXXXXX")
( cd "$top/t" && exec sh "./$script" --root="$root" ) >"$root.tap" 2>&1 </dev/null
rc=$?
cat "$root.tap"
passed=$(grep -c '^ok [0-9]* - ' "$root.tap") skipped=$(grep -c '^ok [0-9]* # skip' "$root.tap")
failed=$(grep -c '^not ok ' "$root.tap")
rm -rf "$root" "$root.tap"
echo "t0303 $suite $helper: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
