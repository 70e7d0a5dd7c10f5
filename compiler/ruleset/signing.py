"""Who published a version: a detached Ed25519 signature over the version file's exact bytes,
published beside it as v<N>.sig (base64, one line). sha256 proves a file is whole; only a
signature proves it came from the holder of the publishing key, which is kept outside the
repository. A reader given the public key refuses a version that is unsigned or whose signature
does not verify; without one, stores read as they always have."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreError, UsageError

if TYPE_CHECKING:  # cryptography is imported when a key is used, not by every compile
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

SUFFIX = "sig"  # v<N>.sig beside v<N>.json


def signature_path(version_file: str | Path) -> Path:
    """v5.json -> v5.sig."""
    return Path(version_file).with_suffix(f".{SUFFIX}")


def new_key(private: str | Path) -> Path:
    """A new Ed25519 key pair: the private key (PEM, readable by its owner only) at `private`,
    never over an existing file, and the public key beside it as NAME.pub.pem. The public key's
    path is returned."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Path(private)
    public = private.with_name(f"{private.stem}.pub.pem")
    for path in (private, public):
        if path.exists() or path.is_symlink():
            raise UsageError(f"{path} already exists; dqm keygen never overwrites a key.")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        with open(private, "xb", opener=lambda p, flags: os.open(p, flags, 0o600)) as f:
            f.write(pem)
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    except OSError as exc:
        raise UsageError(f"Cannot write {private}: {exc.strerror or exc}.") from None
    return public


def private_key(path: str | Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = _read_key(path, serialization.load_pem_private_key, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{path} is not an Ed25519 private key; make one with dqm keygen.")
    return key


def public_key(path: str | Path) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = _read_key(path, serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{path} is not an Ed25519 public key (a .pub.pem from dqm keygen).")
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The signature file's bytes for a version file's bytes: base64 and a newline."""
    return base64.b64encode(key.sign(data)) + b"\n"


def verify(key: Ed25519PublicKey, data: bytes, version_file: str | Path) -> None:
    """Refuse, in one line, a version file (its bytes `data`) that is unsigned or whose signature
    does not verify with `key`."""
    from cryptography.exceptions import InvalidSignature

    path = signature_path(version_file)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(
            f"{version_file} is not signed (no {path.name} beside it), and this reader trusts "
            "only signed versions; publish it with dqm compile --sign KEY."
        ) from None
    except OSError as exc:
        raise StoreError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        key.verify(base64.b64decode(text.strip(), validate=True), data)
    except (InvalidSignature, binascii.Error, ValueError):
        raise StoreError(
            f"{version_file}'s signature does not verify with the trusted public key: it was "
            "changed after it was signed, or signed with another key. Use a version published "
            "by the ruleset's owner."
        ) from None


def _read_key(path: str | Path, load, **kwargs):
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read the key {path}: {exc.strerror or exc}.") from None
    try:
        return load(data, **kwargs)
    except (ValueError, TypeError):
        raise UsageError(f"{path} is not a PEM key; make one with dqm keygen.") from None
