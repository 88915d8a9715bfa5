#!/bin/bash
# deploy/kubernetes/setup.sh - prepares one node of a dev cluster for the
# manifests in manifests/: makes file system dev (unless it exists), its two
# access points (web: uid/gid 1000, root /apps/web; worker: uid/gid 2000 and
# secondary gid 3000, root /apps/worker; the client tokens make a second run
# find the same ones), installs the mount units of host/ with their ids filled
# in, and starts them. Run as root on the node, with efsfs installed
# (mount.efsfs in /sbin). DESTDIR=/tmp/x writes the units there and starts
# nothing (to look at them first).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
efsfs=${EFSFS:-efsfs}
units=${DESTDIR:-/etc/systemd/system}

if ! "$efsfs" info dev >/dev/null 2>&1; then
	"$efsfs" mkfs dev
fi
web=$("$efsfs" access-point create dev --client-token k8s-web \
	--posix-user Uid=1000,Gid=1000 \
	--root-directory 'Path=/apps/web,CreationInfo={OwnerUid=1000,OwnerGid=1000,Permissions=0755}' \
	--tags Key=Name,Value=web)
worker=$("$efsfs" access-point create dev --client-token k8s-worker \
	--posix-user Uid=2000,Gid=2000,SecondaryGids=3000 \
	--root-directory 'Path=/apps/worker,CreationInfo={OwnerUid=2000,OwnerGid=2000,Permissions=0700}' \
	--tags Key=Name,Value=worker)
echo "access points: web $web, worker $worker"

mkdir -p "$units"
for f in "$here"/host/*.mount; do
	sed -e "s/@FSAP_WEB@/$web/g" -e "s/@FSAP_WORKER@/$worker/g" "$f" >"$units/$(basename "$f")"
done
[[ -z "${DESTDIR:-}" ]] || { echo "units written to $units"; exit 0; }
systemctl daemon-reload
systemctl enable --now mnt-efs-dev.mount
mkdir -p /mnt/efs/dev/shared        # the subdirectory mount's directory
systemctl enable --now mnt-efsap-web.mount mnt-efsap-worker.mount mnt-efssub-shared.mount
echo "mounted: $(grep -c ' fuse.efsfs ' /proc/mounts) efsfs mounts; now: kubectl apply -f $here/manifests/"
