#!/usr/bin/env bash
# scripts/quickstart.sh - the first of README's two commands: installs what
# is missing (Debian 12), builds and installs efsfs, creates the file system
# NAME (default "default") with the embedded defaults unless it exists, and
# mounts it on DIR (default /mnt/efs).  Run as root (sudo if you are not):
#     ./scripts/quickstart.sh [NAME [DIR]]
set -euo pipefail
name=${1:-default}
dir=${2:-/mnt/efs}
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/scripts/deps.sh"

if [ "$(id -u)" != 0 ]; then
	echo "quickstart: run as root (it installs packages and mounts)" >&2
	exit 1
fi
efsfs_deps
cd "$src"
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
meson install -C build --quiet
if ! out=$(efsfs mkfs "$name" 2>&1 >/dev/null); then
	case "$out" in
	*"exists here already"*) ;;        # made by an earlier run: keep it
	*) echo "$out" >&2; exit 1 ;;
	esac
fi
mkdir -p "$dir"
if mountpoint -q "$dir"; then
	echo "quickstart: $dir is already a mount point" >&2
	exit 1
fi
mount -t efsfs "$name" "$dir"
df -h "$dir"
echo "efsfs: $name ($(efsfs stats "$name" | sed -n 's/^FileSystemId: //p')) is mounted on $dir"
echo "efsfs: unmount with 'umount $dir'; fstab: '$name $dir efsfs _netdev,nofail 0 0'"
