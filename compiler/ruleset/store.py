"""The exports store, the only writer of exports/: immutable, hashed, schema-checked versions.

Layout: <root>/ruleset.schema.json, <root>/<ruleset-id>/v<N>.json and index.json.
- A version file is written to a temporary file, fsynced, and hard-linked into place: the link
  fails if the name exists, so a published file is never rewritten, and a reader never sees half.
- The version files are the truth; index.json is derived from them and rewritten (atomically,
  under the same lock) after every publish, and repaired at the next publish if a crash came
  between the two writes.
- One publisher at a time per ruleset (an flock, released by the kernel even on SIGKILL).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator

import jsonschema_rs
import orjson

from . import diff
from ..atomic import create_file, replace_file

SCHEMA_FILE = "ruleset.schema.json"
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.json$")


class StoreError(Exception):
    """A problem with the exports store, worded for the person who asked."""


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
    at = data.index(b'\n  ' + orjson.dumps(after) + b": ")
    view = memoryview(data)
    return doc, [view[:at], b'\n  "sha256": "' + digest.encode() + b'",', view[at:]]


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(resources.files("compiler").joinpath(SCHEMA_FILE).read_text())


@lru_cache(maxsize=1)
def _validator():
    # jsonschema-rs: the same draft 2020-12 semantics as `jsonschema`, fast enough for 20,000 products
    return jsonschema_rs.validator_for(schema())


def verify(doc: Any, where: str) -> dict[str, Any]:
    """Refuse a version whose hash or schema does not hold."""
    if not isinstance(doc, dict):
        raise StoreError(f"{where} is not a ruleset version file.")
    _check_schema(doc, where)
    if seal(doc)["sha256"] != doc["sha256"]:
        raise StoreError(f"{where} has been changed since it was published (its sha256 does not "
                         "match its content). Restore it from version control; never edit exports by hand.")
    return doc


def _check_schema(doc: dict[str, Any], where: str) -> None:
    if _validator().is_valid(doc):  # a yes/no is faster to get than the first error
        return
    error = next(_validator().iter_errors(doc), None)
    if error is not None:
        at = "/".join(str(p) for p in error.instance_path) or "(top)"
        raise StoreError(f"{where} does not match the ruleset schema at {at}: {error.message}. "
                         "It was not written by dqm compile; use a published version.")


def load_file(path: str | Path) -> dict[str, Any]:
    """Read and verify one version file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise StoreError(f"{path} is not valid JSON, so it is not a ruleset version file.") from None
    return verify(doc, str(path))


@dataclass
class Published:
    version: int
    path: Path
    doc: dict[str, Any]


@dataclass
class Unchanged:
    version: int
    path: Path


@dataclass
class Refused:
    reasons: list  # whatever the gate returned (findings)


class Store:
    def __init__(self, root: str | Path = "exports"):
        self.root = Path(root)

    def ruleset_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(d.name for d in self.root.iterdir() if d.is_dir() and self.versions(d.name))

    def versions(self, ruleset_id: str) -> list[int]:
        folder = self.root / ruleset_id
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_FILE.match(p.name)))

    def path(self, ruleset_id: str, version: int) -> Path:
        return self.root / ruleset_id / f"v{version}.json"

    def load(self, ruleset_id: str, version: int | None = None) -> dict[str, Any]:
        """A verified version (the latest when `version` is None)."""
        versions = self.versions(ruleset_id)
        if not versions:
            known = ", ".join(self.ruleset_ids()) or "none"
            raise StoreError(f"No published ruleset {ruleset_id!r} in {self.root}/ (published: {known}).")
        version = versions[-1] if version is None else version
        if version not in versions:
            raise StoreError(f"Ruleset {ruleset_id!r} has no version {version}; published: "
                             f"{', '.join(f'v{v}' for v in versions)}.")
        doc = load_file(self.path(ruleset_id, version))
        if doc["ruleset_id"] != ruleset_id or doc["version"] != version:
            raise StoreError(f"{self.path(ruleset_id, version)} holds {doc['ruleset_id']} "
                             f"v{doc['version']}, not what its name says.")
        return doc

    def index(self, ruleset_id: str, loaded: dict[int, dict] | None = None) -> dict[str, Any]:
        """The index as it should be: one entry per version file, in order. `loaded`: versions
        already read and verified, so a publish does not read them again."""
        loaded = loaded or {}
        entries = [index_entry(loaded.get(v) or self.load(ruleset_id, v)) for v in self.versions(ruleset_id)]
        return {"ruleset_id": ruleset_id, "versions": entries}

    def publish(self, content: dict[str, Any],
                gate: Callable[[dict | None, dict], list] | None = None) -> Published | Unchanged | Refused:
        """Publish `content` as the next version unless it says what the latest already says.
        `gate(previous, content)` may refuse it (returns reasons)."""
        ruleset_id = content["ruleset_id"]
        folder = self.root / ruleset_id
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock(folder):
            self._sweep(folder)
            versions = self.versions(ruleset_id)
            previous = self.load(ruleset_id) if versions else None
            loaded = {previous["version"]: previous} if previous else {}
            if previous and previous["content_sha256"] == content["content_sha256"]:
                self._write_index(ruleset_id, loaded)
                self._write_missing_jdm(ruleset_id, previous)
                return Unchanged(previous["version"], self.path(ruleset_id, previous["version"]))
            reasons = gate(previous, content) if gate else []
            if reasons:
                return Refused(reasons)
            version = versions[-1] + 1 if versions else 1
            doc, data = sealed({**content, "version": version,
                                "changes": {"since_version": previous["version"] if previous else None,
                                            "items": diff.changes(previous, content)}})
            _check_schema(doc, f"v{version}")  # never publish what a reader would refuse (its hash
            # was made from this very dict a moment ago)
            self._write_schema()
            path = self.path(ruleset_id, version)
            _write_new(path, data)
            _pause_for_crash_tests()
            self._write_index(ruleset_id, {**loaded, version: doc})
            self._write_missing_jdm(ruleset_id, doc)
            return Published(version, path, doc)

    def jdm_path(self, ruleset_id: str, version: int) -> Path:
        return self.root / ruleset_id / f"v{version}.jdm.json"

    def _write_missing_jdm(self, ruleset_id: str, doc: dict[str, Any]) -> None:
        """Each version's GoRules JDM graph beside it; one already written is never rewritten."""
        from . import jdm  # the graph is derived from a version, like the index

        for v in self.versions(ruleset_id):
            path = self.jdm_path(ruleset_id, v)
            if path.exists():
                continue
            _write_new(path, canonical_bytes(jdm.graph(doc if doc["version"] == v else self.load(ruleset_id, v))))

    def index_problems(self, ruleset_id: str) -> list[str]:
        """Where index.json disagrees with the version files (empty when they agree)."""
        path = self.root / ruleset_id / "index.json"
        try:
            on_disk = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return [f"{path} is missing or unreadable."]
        return [] if on_disk == self.index(ruleset_id) else [f"{path} does not list the version files."]

    @contextlib.contextmanager
    def _lock(self, folder: Path) -> Iterator[None]:
        with open(folder / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _sweep(self, folder: Path) -> None:
        """Remove temporary files a killed publisher left behind (only ever under the lock)."""
        for p in folder.glob(".*.tmp"):
            p.unlink(missing_ok=True)

    def _write_index(self, ruleset_id: str, loaded: dict[int, dict] | None = None) -> None:
        path = self.root / ruleset_id / "index.json"
        data = canonical_bytes(self.index(ruleset_id, loaded))
        if not path.exists() or path.read_bytes() != data:
            replace_file(path, data)

    def _write_schema(self) -> None:
        data = (json.dumps(schema(), indent=2, ensure_ascii=False) + "\n").encode()
        target = self.root / SCHEMA_FILE
        if not target.exists() or target.read_bytes() != data:
            replace_file(target, data)


def _pause_for_crash_tests() -> None:
    # Tests kill a real `dqm compile` here, between the version file and the index, the window a
    # crash can leave behind (tests/test_store_integrity.py). Unset in normal use.
    seconds = os.environ.get("DQM_TEST_PAUSE_AFTER_VERSION_FILE")
    if seconds:
        time.sleep(float(seconds))


def index_entry(doc: dict[str, Any]) -> dict[str, Any]:
    """What the index says of one version: enough to choose it without opening it."""
    return {
        "version": doc["version"],
        "file": f"v{doc['version']}.json",
        "sha256": doc["sha256"],
        "content_sha256": doc["content_sha256"],
        "review_dates": {p["policy_id"]: p["review_date"] for p in doc["policies"]},
        "history_added": [c["text"] for c in doc["changes"]["items"] if c["kind"] == "history"
                          and c["action"] == "added"],
    }


def _write_new(path: Path, data: bytes | list) -> None:
    """Create `path` atomically; a published file is never rewritten."""
    try:
        create_file(path, data)
    except FileExistsError:
        raise StoreError(f"{path} is already published and is never rewritten.") from None
