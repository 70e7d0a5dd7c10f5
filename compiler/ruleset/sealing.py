"""A version file as published: its one canonical serialisation, its seal (sha256), and the
verification every reader applies (schema, hashes, consistency) before trusting it."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson

from ..errors import StoreError
from ..vocabulary import plain_text
from . import integrity

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SCHEMA_FILE = "ruleset.schema.json"
# Every schema the store writes beside the rulesets (exports/SCHEMA-CHANGELOG.md): a version
# file's, index.json's, and one decision of `dqm decide`.
SCHEMA_FILES = (SCHEMA_FILE, "index.schema.json", "decision.schema.json")


def canonical_bytes(doc: dict[str, Any]) -> bytes:
    """The one serialisation of a version: sorted keys, two-space indent, UTF-8, final newline.
    (orjson: the standard library's encoder is pure Python when indenting, 20x slower.)"""
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def seal(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with `sha256`: the hash of its canonical bytes without that field."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    return {**body, "sha256": hashlib.sha256(canonical_bytes(body)).hexdigest()}


def sealed(doc: dict[str, Any]) -> tuple[dict[str, Any], list[bytes | memoryview]]:
    """`seal(doc)` and its canonical bytes as buffers to write in turn, serialised once (25 MB
    at 20,000 products): the sha256 line goes where the sorted keys put it. JSON strings never
    hold a raw newline, so a line of two spaces and a quote can only be a top-level key."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    data = canonical_bytes(body)
    digest = hashlib.sha256(data).hexdigest()
    after = min((k for k in body if k > "sha256"), default=None)
    doc = {**body, "sha256": digest}
    if after is None:  # nothing sorts after it: serialise again rather than edit the closing brace
        return doc, [canonical_bytes(doc)]
    at = data.index(b"\n  " + orjson.dumps(after) + b": ")
    view = memoryview(data)
    return doc, [view[:at], b'\n  "sha256": "' + digest.encode() + b'",', view[at:]]


@lru_cache(maxsize=len(SCHEMA_FILES))
def schema(name: str = SCHEMA_FILE) -> dict[str, Any]:
    """One of the package's schemas (SCHEMA_FILES): the version files' by default."""
    return json.loads(resources.files("compiler").joinpath(name).read_text())


@lru_cache(maxsize=1)
def _validator():
    # jsonschema-rs: the same draft 2020-12 semantics as `jsonschema`, fast enough for 20,000 products
    return jsonschema_rs.validator_for(schema())


def verify(doc: Any, where: str) -> dict[str, Any]:
    """Refuse, in one line, a version whose schema, hashes or consistency does not hold: every
    reader (a version by number or by date, a version file's path, the app, Spark) comes here."""
    if not isinstance(doc, dict):
        raise StoreError(f"{where} is not a ruleset version file.")
    check_schema(doc, where)
    for field, changed in (
        ("sha256", seal(doc)["sha256"] != doc["sha256"]),
        ("content_sha256", integrity.content_changed(doc)),
    ):
        if changed:
            raise StoreError(
                f"{where} has been changed since it was published (its {field} does not "
                "match its content). Restore it from version control; never edit exports by hand."
            )
    problem = integrity.first_problem(doc)
    if problem is not None:
        raise StoreError(
            f"{where} is inconsistent: {plain_text(problem)}. It was not written by dqm compile; "
            "use a published version."
        )
    return doc


def check_schema(doc: dict[str, Any], where: str) -> None:
    if _validator().is_valid(doc):  # a yes/no is faster to get than the first error
        return
    error = next(_validator().iter_errors(doc), None)
    if error is not None:
        at = "/".join(str(p) for p in error.instance_path) or "(top)"
        raise StoreError(
            f"{where} does not match the ruleset schema at {at}: {error.message}. "
            "It was not written by dqm compile; use a published version."
        )


def load_file(path: str | Path, trust: Ed25519PublicKey | None = None) -> dict[str, Any]:
    """Read and verify one version file; with `trust`, a public key, its signature too."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if trust is not None:
        from .signing import verify as verify_signature

        verify_signature(trust, data, path)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise StoreError(
            f"{path} is not valid JSON, so it is not a ruleset version file."
        ) from None
    return verify(doc, str(path))
