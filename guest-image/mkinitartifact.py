#!/usr/bin/env python3
"""Package arca-init's initramfs as an OCI image layout: the init artifact.

    mkinitartifact.py --initramfs arca-initramfs.cpio --version 0.1.0 \
        --proto src/proto/proto.h --output DIR

DIR holds `oci-layout`, `index.json` (one manifest, named `arca/init:VERSION`) and
content-addressed blobs: the initramfs as the one layer
(application/vnd.arca.initramfs.v1), a config naming the release and the protocol, and
the manifest (artifactType application/vnd.arca.init.v1, annotated with
org.arca.protocol.version). Deterministic: the same initramfs gives the same bytes.
arcad verifies every digest before it boots one (docs/guest-assets.md).
"""
import argparse
import hashlib
import json
import os
import re
import shutil

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.arca.init.config.v1+json"
MT_LAYER = "application/vnd.arca.initramfs.v1"
ARTIFACT = "application/vnd.arca.init.v1"


def protocol(proto_h):
    with open(proto_h) as f:
        text = f.read()
    major = re.search(r"#define PROTO_VERSION_MAJOR (\d+)", text).group(1)
    minor = re.search(r"#define PROTO_VERSION_MINOR (\d+)", text).group(1)
    return f"{major}.{minor}"


def put(blobs, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--initramfs", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--proto", required=True, help="src/proto/proto.h")
    ap.add_argument("--output", help="the layout's directory")
    ap.add_argument("--install-dir", help="as --output, under $DESTDIR (meson install)")
    args = ap.parse_args()
    if args.install_dir:
        args.output = os.environ.get("DESTDIR", "") + args.install_dir
    if not args.output:
        ap.error("--output or --install-dir is needed")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)

    proto = protocol(args.proto)
    tmp = args.output + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    blobs = os.path.join(tmp, "blobs", "sha256")
    os.makedirs(blobs)
    with open(args.initramfs, "rb") as f:
        layer = dict(mediaType=MT_LAYER, **put(blobs, f.read()))
    config = dict(mediaType=MT_CONFIG, **put(blobs, dumps(
        {"architecture": "amd64", "os": "linux",
         "arca": {"init": args.version, "protocol": proto}})))
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "artifactType": ARTIFACT,
                "config": config, "layers": [layer],
                "annotations": {"org.arca.protocol.version": proto,
                                "org.opencontainers.image.title": "arca-init",
                                "org.opencontainers.image.version": args.version}}
    mdesc = dict(mediaType=MT_MANIFEST, **put(blobs, dumps(manifest)))
    mdesc["annotations"] = {"org.opencontainers.image.ref.name": f"arca/init:{args.version}"}
    with open(os.path.join(tmp, "index.json"), "wb") as f:
        f.write(dumps({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [mdesc]}))
    with open(os.path.join(tmp, "oci-layout"), "wb") as f:
        f.write(dumps({"imageLayoutVersion": "1.0.0"}))
    shutil.rmtree(args.output, ignore_errors=True)
    os.rename(tmp, args.output)


if __name__ == "__main__":
    main()
