#!/usr/bin/env bash
# Install the Debian package into a scratch root (as into a clean container) and
# check what a user gets from there: `derbes --version`, `man derbes-purge`, bash
# completion, the purge timer.
# Usage: bash scripts/check-package.sh dist/derbes_VERSION_ARCH.deb
set -euo pipefail
deb=${1:?the .deb to check}
# man and objdump read what the package installed; Debian's packages bring them.
if ! command -v man >/dev/null || ! command -v objdump >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q man-db binutils >/dev/null
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
# The scratch root has no libc6 of its own: the host's serves.
if ! log=$(dpkg --root="$root" --force-depends --force-not-root -i "$deb" 2>&1); then
    echo "$log" >&2
    echo "package check failed: dpkg -i" >&2
    exit 1
fi

fail() { echo "package check failed: $*" >&2; exit 1; }
dpkg --root="$root" -s derbes | grep -q '^Status: install ok installed' || fail "dpkg does not list derbes as installed"
"$root/usr/bin/derbes" --version | grep -q '^derbes ' || fail "derbes --version"
if objdump -h "$root/usr/bin/derbes" | grep -q '\.debug_info'; then fail "the binary is not stripped"; fi
MANPATH="$root/usr/share/man" MANPAGER=cat MANWIDTH=80 man derbes-purge 2>/dev/null \
    | grep -q 'EXAMPLES' || fail "man derbes-purge has no EXAMPLES section"
bash -c "source '$root/usr/share/bash-completion/completions/derbes' && complete -p derbes" \
    | grep -q 'derbes' || fail "bash completion is not registered"
completions=$(bash -c "source '$root/usr/share/bash-completion/completions/derbes'
    COMP_WORDS=(derbes pur); COMP_CWORD=1; COMP_LINE='derbes pur'; COMP_POINT=10
    _derbes derbes pur derbes; printf '%s\n' \"\${COMPREPLY[@]}\"")
grep -qx 'purge' <<<"$completions" || fail "bash does not complete 'derbes pur' to purge"
test -f "$root/lib/systemd/system/derbes-purge.timer" || fail "the purge timer is missing"
echo "package ok: $(dpkg --root="$root" -s derbes | sed -n 's/^Version: //p'), $(du -h "$root/usr/bin/derbes" | cut -f1) binary, $(ls "$root/usr/share/man/man1" | wc -l) man pages"
