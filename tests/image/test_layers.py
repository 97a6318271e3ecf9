"""The layer scanner finds what it looks for: a leak check that could miss a secret would pass on any image."""

import gzip
import io
import json
import subprocess
import tarfile

from layers import CHUNK, SavedImage


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def straddling(needle: bytes) -> bytes:
    """A layer whose bytes hold `needle` across the scanner's first chunk boundary."""
    # Tar puts the padding's 512-byte header at 0 and its data from 512 to CHUNK - 1536, then the leak's header.
    layer = tar_of({"opt/padding": b"\0" * (CHUNK - 2048), "opt/leak": b"x" * 1014 + needle})
    assert layer.index(needle) < CHUNK < layer.index(needle) + len(needle)
    return layer


def test_a_needle_is_found_in_a_plain_or_gzipped_layer_across_a_chunk_boundary_with_the_manifest_last(tmp_path):
    secret, certificate = b"hf_" + b"5" * 32, b"-----BEGIN CERTIFICATE-----\nMIIFazCCA1Og"
    plain, zipped = straddling(secret), straddling(certificate)
    config = json.dumps({"rootfs": {"diff_ids": ["sha256:a", "sha256:b", "sha256:c"]}}).encode()
    archive, layers = tmp_path / "saved.tar", ["plain.tar", "zipped.tar", "clean.tar"]
    archive.write_bytes(
        tar_of({
            "plain.tar": plain,
            "zipped.tar": gzip.compress(zipped),  # as docker's containerd store saves layers
            "clean.tar": tar_of({"etc/hostname": b"svd\n"}),
            "config.json": config,
            "manifest.json": json.dumps([{"Config": "config.json", "Layers": layers}]).encode(),
        })
    )  # fmt: skip
    needles = {"the build secret": secret, "a certificate": certificate, "absent": b"-----BEGIN nothing"}

    with subprocess.Popen(["cat", str(archive)], stdout=subprocess.PIPE) as pipe:  # read as `save` writes it
        saved = SavedImage.scan(pipe.stdout, needles)

    assert [(scan.member, scan.found) for scan in saved.layers] == [
        ("plain.tar", ["the build secret"]),
        ("zipped.tar", ["a certificate"]),
        ("clean.tar", []),
    ]
    assert [scan.size for scan in saved.layers[:2]] == [len(plain), len(zipped)]
    assert saved.diff_ids == ["sha256:a", "sha256:b", "sha256:c"] and saved.texts["config.json"] == config
    whole = len(gzip.compress(zipped, compresslevel=6, mtime=0))
    assert abs(saved.layers[1].gzipped - whole) < whole * 0.01 + 64  # measured as a registry would store it
    assert saved.layers[1].gzipped < len(zipped) / 100
