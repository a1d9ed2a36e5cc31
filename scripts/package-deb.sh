#!/usr/bin/env bash
# Build the Debian package: the release binary stripped (its debug info split off
# into dist/derbes-VERSION.debug, linked by a .gnu_debuglink), the man pages, the
# shell completions where bash, zsh and fish find them, and the nightly purge's
# systemd service and timer (installed, not enabled).
# Usage: bash scripts/package-deb.sh        -> dist/derbes_VERSION_ARCH.deb
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
cargo build --release --locked --quiet
binary="${CARGO_TARGET_DIR:-target}/release/derbes"

dist=dist
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$dist" "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d" "$root/lib/systemd/system" \
    "$root/usr/share/doc/derbes"

objcopy --only-keep-debug "$binary" "$dist/derbes-$version.debug"
objcopy --strip-debug --strip-unneeded \
    --add-gnu-debuglink="$dist/derbes-$version.debug" \
    "$binary" "$root/usr/bin/derbes"
chmod 0755 "$root/usr/bin/derbes"

for page in completions/man/*.1; do
    gzip -9n < "$page" > "$root/usr/share/man/man1/$(basename "$page").gz"
done
install -m 0644 completions/derbes.bash "$root/usr/share/bash-completion/completions/derbes"
install -m 0644 completions/_derbes "$root/usr/share/zsh/vendor-completions/_derbes"
install -m 0644 completions/derbes.fish "$root/usr/share/fish/vendor_completions.d/derbes.fish"
install -m 0644 packaging/derbes-purge.service packaging/derbes-purge.timer "$root/lib/systemd/system/"
install -m 0644 README.md "$root/usr/share/doc/derbes/README.md"
gzip -9n < CHANGELOG.md > "$root/usr/share/doc/derbes/changelog.gz"
install -m 0644 examples/datamap.toml "$root/usr/share/doc/derbes/datamap.example.toml"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: derbes
Version: $version
Architecture: $arch
Maintainer: derbes maintainers <derbes@localhost>
Installed-Size: $size
Depends: libc6
Section: admin
Priority: optional
Description: keep a privacy policy's promises against a production PostgreSQL
 Subject-access exports, rectification, blocking, anonymisation, retention
 purging and age-encrypted archives, each change with its audit record in the
 same transaction, all derived from one data map.
CONTROL

deb="$dist/derbes_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb ($(du -h "$deb" | cut -f1); binary $(du -h "$root/usr/bin/derbes" | cut -f1) stripped, debug info in $dist/derbes-$version.debug)"
