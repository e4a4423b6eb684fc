"""A tiny OCI image layout built in Python (one small layer), so tests never download an image."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile


def _blob(root: str, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, digest), "wb") as handle:
        handle.write(data)
    return f"sha256:{digest}", len(data)


def build_image(root: str, tag: str = "v1", text: str = "hello from gatepass tests\n") -> str:
    """Write an OCI layout at ``root`` holding one image tagged ``tag``; returns ``oci:ROOT:TAG``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        payload = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(payload), 0, 0o644
        tar.addfile(info, io.BytesIO(payload))
    layer_tar = raw.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    layer_digest, layer_size = _blob(root, layer)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]}},
                        sort_keys=True).encode()
    config_digest, config_size = _blob(root, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": config_digest, "size": config_size},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                       "digest": layer_digest, "size": layer_size}]}, sort_keys=True).encode()
    manifest_digest, manifest_size = _blob(root, manifest)
    with open(os.path.join(root, "oci-layout"), "w") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    with open(os.path.join(root, "index.json"), "w") as handle:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
            "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": tag}}]}, handle)
    return f"oci:{root}:{tag}"
