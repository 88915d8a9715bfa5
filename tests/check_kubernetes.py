#!/usr/bin/env python3
"""tests/check_kubernetes.py - unit test 'kubernetes': checks deploy/kubernetes/
without a cluster.  Every manifest must parse (python3-yaml) with the expected
kinds; every Pod (and Deployment pod template) hostPath volume, and every
PersistentVolume's hostPath, must be the mount point of one of the systemd
mount units in host/ (Type=efsfs, the unit named after its mount point,
access point units with accesspoint=, their line in fstab.example); every
volume mount of such a volume or of a claim on such a PV must use
mountPropagation HostToContainer; the claim binds the PV by name with
storageClassName ""; setup.sh fills in every placeholder the units have.

usage: check_kubernetes.py DIR            check DIR (deploy/kubernetes)
       check_kubernetes.py --self-test DIR  also check that planted faults in
                                            a copy of DIR are caught
"""
import glob
import os
import re
import shutil
import sys
import tempfile

import yaml

EXPECTED_KINDS = {"Namespace", "Deployment", "Pod", "PersistentVolume", "PersistentVolumeClaim"}


def escape_mount(path):
    """systemd-escape -p --suffix=mount, for the characters paths here use."""
    p = path.strip("/")
    out = []
    for i, ch in enumerate(p):
        if ch == "/":
            out.append("-")
        elif ch.isalnum() or ch in "_:" or (ch == "." and i > 0):
            out.append(ch)
        else:
            out.append("\\x%02x" % ord(ch))
    return "".join(out) + ".mount"


def read_unit(path, errors):
    """The [Mount] keys of a unit file."""
    section, keys = None, {}
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if "=" not in line:
            errors.append("%s:%d: not KEY=VALUE: %s" % (path, n, line))
            continue
        k, v = line.split("=", 1)
        if section == "[Mount]":
            keys[k] = v
    return keys


def pod_specs(doc):
    kind = doc.get("kind")
    if kind == "Pod":
        yield doc["metadata"]["name"], doc["spec"]
    elif kind == "Deployment":
        yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def check(d):
    errors = []
    # ---- the mount units and fstab.example ----
    mounts = {}          # mount point -> (what, options)
    units = sorted(glob.glob(os.path.join(d, "host", "*.mount")))
    if not units:
        errors.append("%s/host: no mount units" % d)
    for u in units:
        k = read_unit(u, errors)
        for key in ("What", "Where", "Type", "Options"):
            if key not in k:
                errors.append("%s: [Mount] has no %s" % (u, key))
        if any(key not in k for key in ("What", "Where", "Type", "Options")):
            continue
        if k["Type"] != "efsfs":
            errors.append("%s: Type=%s, not efsfs" % (u, k["Type"]))
        if os.path.basename(u) != escape_mount(k["Where"]):
            errors.append("%s: a unit for %s must be named %s" % (u, k["Where"],
                          escape_mount(k["Where"])))
        opts = k["Options"].split(",")
        aps = [o for o in opts if o.startswith("accesspoint=")]
        for o in aps:
            if not re.fullmatch(r"accesspoint=(fsap-[0-9a-f]{17}|@FSAP_[A-Z]+@)", o):
                errors.append("%s: %s is not an fsap- id or a placeholder" % (u, o))
        if not re.fullmatch(r"[A-Za-z0-9._-]+(:/[^ ]*)?", k["What"]):
            errors.append("%s: What=%s is not NAME or NAME:/path" % (u, k["What"]))
        mounts[k["Where"]] = (k["What"], k["Options"])
    fstab = {}
    fpath = os.path.join(d, "host", "fstab.example")
    if os.path.exists(fpath):
        for n, line in enumerate(open(fpath, encoding="utf-8"), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                f = line.split()
                if len(f) != 6 or f[2] != "efsfs":
                    errors.append("%s:%d: not an efsfs fstab line" % (fpath, n))
                    continue
                fstab[f[1]] = (f[0], f[3])
    else:
        errors.append("%s: missing" % fpath)
    for where, (what, opts) in mounts.items():
        if fstab.get(where) != (what, opts):
            errors.append("fstab.example: no line '%s %s efsfs %s 0 0' for the unit of %s"
                          % (what, where, opts, where))
    for where in fstab:
        if where not in mounts:
            errors.append("fstab.example: %s has no mount unit" % where)
    # placeholders are all filled in by setup.sh
    setup = os.path.join(d, "setup.sh")
    text = open(setup, encoding="utf-8").read() if os.path.exists(setup) else ""
    for where, (what, opts) in mounts.items():
        for ph in re.findall(r"@FSAP_[A-Z]+@", opts):
            if "s/%s/" % ph not in text:
                errors.append("setup.sh does not fill in %s (the unit of %s)" % (ph, where))

    # ---- the manifests ----
    kinds, pvs, pvcs, specs = set(), {}, {}, []
    files = sorted(glob.glob(os.path.join(d, "manifests", "*.yaml")))
    if not files:
        errors.append("%s/manifests: no manifests" % d)
    for f in files:
        try:
            docs = [x for x in yaml.safe_load_all(open(f, encoding="utf-8")) if x is not None]
        except yaml.YAMLError as e:
            errors.append("%s: %s" % (f, e))
            continue
        for doc in docs:
            if not isinstance(doc, dict) or not all(k in doc for k in ("apiVersion", "kind",
                                                                     "metadata")):
                errors.append("%s: a document without apiVersion, kind and metadata" % f)
                continue
            kind = doc["kind"]
            kinds.add(kind)
            if kind == "StorageClass":
                errors.append("%s: a StorageClass: the examples provision statically" % f)
            if kind == "PersistentVolume":
                pvs[doc["metadata"]["name"]] = (f, doc)
            if kind == "PersistentVolumeClaim":
                pvcs[doc["metadata"]["name"]] = (f, doc)
            for name, spec in pod_specs(doc):
                specs.append((f, "%s %s" % (kind, name), spec))
    if kinds != EXPECTED_KINDS:
        errors.append("kinds %s, expected %s" % (sorted(kinds), sorted(EXPECTED_KINDS)))
    efs_pvs = set()
    for name, (f, pv) in pvs.items():
        spec = pv["spec"]
        hp = spec.get("hostPath", {}).get("path") or spec.get("local", {}).get("path")
        if hp not in mounts:
            errors.append("%s: PersistentVolume %s: path %s is no mount unit's mount point"
                          % (f, name, hp))
        if spec.get("storageClassName") != "":
            errors.append("%s: PersistentVolume %s: storageClassName must be \"\"" % (f, name))
        efs_pvs.add(name)
    efs_claims = set()
    for name, (f, pvc) in pvcs.items():
        spec = pvc["spec"]
        if spec.get("storageClassName") != "":
            errors.append("%s: claim %s: storageClassName must be \"\"" % (f, name))
        if spec.get("volumeName") not in efs_pvs:
            errors.append("%s: claim %s: volumeName %s is not one of the PersistentVolumes"
                          % (f, name, spec.get("volumeName")))
        else:
            efs_claims.add(name)
    used_claims = set()
    for f, what, spec in specs:
        efs_volumes = set()
        for v in spec.get("volumes", []):
            if "hostPath" in v:
                if v["hostPath"].get("path") not in mounts:
                    errors.append("%s: %s: hostPath %s is no mount unit's mount point"
                                  % (f, what, v["hostPath"].get("path")))
                if v["hostPath"].get("type") != "Directory":
                    errors.append("%s: %s: hostPath %s: type must be Directory (never "
                                  "create an empty directory under a missing mount)"
                                  % (f, what, v["hostPath"].get("path")))
                efs_volumes.add(v["name"])
            elif "persistentVolumeClaim" in v:
                claim = v["persistentVolumeClaim"].get("claimName")
                if claim not in efs_claims:
                    errors.append("%s: %s: claim %s is not one of the claims" % (f, what, claim))
                used_claims.add(claim)
                efs_volumes.add(v["name"])
        if not efs_volumes:
            errors.append("%s: %s uses no efsfs volume" % (f, what))
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for vm in c.get("volumeMounts", []):
                if vm["name"] in efs_volumes and vm.get("mountPropagation") != "HostToContainer":
                    errors.append("%s: %s: container %s mounts %s without mountPropagation: "
                                  "HostToContainer" % (f, what, c["name"], vm["name"]))
    for claim in efs_claims - used_claims:
        errors.append("claim %s is used by no pod" % claim)
    return errors


def self_test(d):
    """Each planted fault must be found in a copy of d."""
    faults = [
        ("manifests/web-deployment.yaml", "path: /mnt/efsap/web", "path: /mnt/efsap/nope",
         "no mount unit's mount point"),
        ("manifests/worker-pod.yaml", "mountPropagation: HostToContainer", "readOnly: false",
         "without mountPropagation"),
        ("manifests/static-pv.yaml", "volumeName: efsfs-dev-shared", "volumeName: other",
         "is not one of the PersistentVolumes"),
        ("manifests/static-pv.yaml", "kind: PersistentVolumeClaim", "kind: PersistentVolumeClam",
         "kinds"),
        ("manifests/00-namespace.yaml", "name: efsfs-demo", "name: [efsfs-demo",
         "manifests/00-namespace.yaml"),
        ("host/fstab.example", "/mnt/efsap/worker   efsfs", "/mnt/efsap/wrk      efsfs",
         "fstab.example"),
        ("host/mnt-efsap-web.mount", "Type=efsfs", "Type=nfs", "not efsfs"),
        ("setup.sh", "s/@FSAP_WORKER@/", "s/@FSAP_WRK@/", "does not fill in @FSAP_WORKER@"),
    ]
    bad = []
    for rel, old, new, want in faults:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "k")
            shutil.copytree(d, copy)
            p = os.path.join(copy, rel)
            text = open(p, encoding="utf-8").read()
            if old not in text:
                bad.append("self-test: '%s' is not in %s" % (old, rel))
                continue
            open(p, "w", encoding="utf-8").write(text.replace(old, new, 1))
            found = check(copy)
            if not any(want in e for e in found):
                bad.append("self-test: %s with '%s' -> '%s' not caught (wanted '%s'; got %s)"
                           % (rel, old, new, want, found))
    return bad


def main():
    args = sys.argv[1:]
    selftest = bool(args) and args[0] == "--self-test"
    if selftest:
        args = args[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    errors = check(args[0])
    if selftest and not errors:
        errors = self_test(args[0])
    for e in errors:
        print("FAIL: " + e)
    if errors:
        return 1
    print("ok: deploy/kubernetes: manifests, mount units, fstab lines and setup.sh agree%s"
          % (" (and every planted fault is caught)" if selftest else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
