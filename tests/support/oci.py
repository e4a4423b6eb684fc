"""A tiny OCI image layout built in Python (one small layer), and a plain-HTTP push of it.

Tests never download an image: ``write_layout`` makes one that ``skopeo copy oci:DIR:TAG
docker://HOST/REPO:TAG`` pushes, and ``push_layout`` uploads it itself (OCI distribution spec:
monolithic blob upload, then the manifest) when a test only needs an image to be present.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Final

from tests.support.registry import basic_auth

MANIFEST_TYPE: Final = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE: Final = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME: Final = "org.opencontainers.image.ref.name"
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PushError(Exception):
    """The registry refused a step of the push; carries the HTTP status."""

    def __init__(self, step: str, status: int) -> None:
        super().__init__(f"{step}: HTTP {status}")
        self.status = status


@dataclass(frozen=True)
class Layout:
    """One image in an OCI layout directory: ``ref`` is what skopeo takes as a source."""

    root: str
    tag: str
    manifest: bytes
    manifest_digest: str
    config_digest: str
    layer_digest: str

    @property
    def ref(self) -> str:
        return f"oci:{self.root}:{self.tag}"

    def blob(self, digest: str) -> bytes:
        with open(os.path.join(self.root, "blobs", *digest.split(":", 1)), "rb") as handle:
            return handle.read()


def _blob(root: str, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, digest), "wb") as handle:
        handle.write(data)
    return f"sha256:{digest}", len(data)


def _layer(text: str) -> tuple[bytes, bytes]:
    """(uncompressed tar, gzip of it), both byte-for-byte reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        payload = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(payload), 0, 0o644
        tar.addfile(info, io.BytesIO(payload))
    return raw.getvalue(), gzip.compress(raw.getvalue(), mtime=0)


def _tag_index(root: str, tag: str, manifest_digest: str, manifest_size: int) -> None:
    """Point ``tag`` at the manifest in index.json, keeping the layout's other tags."""
    path = os.path.join(root, "index.json")
    index: dict[str, Any] = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(path):
        with open(path) as handle:
            index = json.load(handle)
    kept = [m for m in index["manifests"] if m.get("annotations", {}).get(REF_NAME) != tag]
    kept.append({"mediaType": MANIFEST_TYPE, "digest": manifest_digest, "size": manifest_size,
                 "annotations": {REF_NAME: tag}})
    index["manifests"] = kept
    with open(path, "w") as handle:
        json.dump(index, handle)


def write_layout(root: str, tag: str = "v1", text: str = "hello from gatepass tests\n") -> Layout:
    """Write (or add to) an OCI layout at ``root`` holding one image tagged ``tag``."""
    os.makedirs(root, exist_ok=True)
    layer_tar, layer = _layer(text)
    layer_digest, layer_size = _blob(root, layer)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers",
                                    "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]}},
                        sort_keys=True).encode()
    config_digest, config_size = _blob(root, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                           "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": config_size},
                           "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": layer_size}]},
                          sort_keys=True).encode()
    manifest_digest, manifest_size = _blob(root, manifest)
    with open(os.path.join(root, "oci-layout"), "w") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    _tag_index(root, tag, manifest_digest, manifest_size)
    return Layout(root, tag, manifest, manifest_digest, config_digest, layer_digest)


def build_image(root: str, tag: str = "v1", text: str = "hello from gatepass tests\n") -> str:
    """Write an OCI layout at ``root`` holding one image tagged ``tag``; returns ``oci:ROOT:TAG``."""
    return write_layout(root, tag, text).ref


def seed_image(root: str, host: str, user: str, password: str) -> str:
    """Build the test image at ``root`` and copy it with skopeo to ``HOST/team/hello:v1`` as ``user``,
    so a registry fixture starts with something to pull; returns the image's ``oci:`` reference."""
    image = build_image(root)
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", f"{user}:{password}", image,
                    f"docker://{host}/team/hello:v1"], check=True, capture_output=True, timeout=60)
    return image


def _request(method: str, url: str, auth: str, data: bytes | None = None,
             content_type: str | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", auth)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with _OPENER.open(request, timeout=30) as response:
            return int(response.status), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return int(exc.code), dict(exc.headers)


def _push_blob(base: str, repo: str, digest: str, data: bytes, auth: str) -> None:
    status, _ = _request("HEAD", f"{base}/v2/{repo}/blobs/{digest}", auth)
    if status == 200:
        return
    status, headers = _request("POST", f"{base}/v2/{repo}/blobs/uploads/", auth, b"")
    if status != 202:
        raise PushError(f"start upload of {digest}", status)
    location = urllib.parse.urljoin(base + "/", headers["Location"])
    location += ("&" if "?" in location else "?") + urllib.parse.urlencode({"digest": digest})
    status, _ = _request("PUT", location, auth, data, "application/octet-stream")
    if status != 201:
        raise PushError(f"upload of {digest}", status)


def push_layout(layout: Layout, url: str, repo: str, tag: str, user: str, password: str) -> str:
    """Push ``layout`` to ``url`` (``http://HOST:PORT``) as ``repo:tag`` with Basic auth; returns its digest."""
    auth = basic_auth(user, password)
    for digest in (layout.config_digest, layout.layer_digest):
        _push_blob(url, repo, digest, layout.blob(digest), auth)
    status, _ = _request("PUT", f"{url}/v2/{repo}/manifests/{tag}", auth, layout.manifest, MANIFEST_TYPE)
    if status != 201:
        raise PushError(f"manifest {repo}:{tag}", status)
    return layout.manifest_digest
