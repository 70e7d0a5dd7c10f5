"""The exports store, the only writer of exports/: immutable, hashed, schema-checked files. It knows
files only; what goes into a version, and what is derived from one, is the caller's (compile.py).

Layout: <root>/*.schema.json (SCHEMA_FILES), <root>/<ruleset-id>/v<N>.json, the files derived from a
version beside it (v<N>.<suffix>), and index.json.
- Every file is written to a temporary file, fsynced, and hard-linked into place: the link fails
  if the name exists, so a published file is never rewritten, and a reader never sees half.
- A publish writes a version's derived files first, then the version, then the index: a version on
  disk always has its derived files. A derived file whose version never came (its publisher was
  killed) is swept by the next publisher, with the temporary files, under the lock.
- The version files are the truth; index.json is derived from them and rewritten last (atomically,
  under the same lock), and repaired at the next publish if a crash came before it.
- One publisher at a time per ruleset: a lock file (`filelock`: flock on POSIX, msvcrt on
  Windows), released by the operating system even when the publisher is killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
from filelock import FileLock

from ..atomic import WriteError, create_file, make_folder, replace_file, why
from ..effective import effective_date
from ..vocabulary import MAX_ID_LENGTH, SLUG, plain_text
from . import integrity

SCHEMA_FILE = "ruleset.schema.json"
# Every schema the store writes beside the rulesets (exports/SCHEMA-CHANGELOG.md): a version
# file's, index.json's, and one decision of `dqm decide`.
SCHEMA_FILES = (SCHEMA_FILE, "index.schema.json", "decision.schema.json")
INDEX_FILE = "index.json"
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.json$")
_DERIVED_FILE = re.compile(r"^v([1-9][0-9]*)\.(.+)$")  # v<N>.<suffix>, the version file among them
HISTORY_FIELDS = ("policy_id", "type_of_revision", "summary_of_changes", "review_date")
_RULESET_ID = re.compile(SLUG, re.ASCII)


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
    _check_schema(doc, where)
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


def _check_schema(doc: dict[str, Any], where: str) -> None:
    if _validator().is_valid(doc):  # a yes/no is faster to get than the first error
        return
    error = next(_validator().iter_errors(doc), None)
    if error is not None:
        at = "/".join(str(p) for p in error.instance_path) or "(top)"
        raise StoreError(
            f"{where} does not match the ruleset schema at {at}: {error.message}. "
            "It was not written by dqm compile; use a published version."
        )


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
        raise StoreError(
            f"{path} is not valid JSON, so it is not a ruleset version file."
        ) from None
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

    def require_folder(self, missing_ok: bool = False) -> None:
        """StoreError when the root is a file (or, unless `missing_ok`, is not there): one line for
        a mistyped --exports rather than "no published rulesets"."""
        if self.root.is_dir() or (missing_ok and not self.root.exists()):
            return
        if self.root.exists():
            raise StoreError(
                f"{self.root} is a file, not a folder; --exports names the folder that "
                "versions are published in."
            )
        raise StoreError(f"{self.root}: no such folder (--exports names the exports folder).")

    def ruleset_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(d.name for d in self.root.iterdir() if d.is_dir() and self.versions(d.name))

    def versions(self, ruleset_id: str) -> list[int]:
        if not is_ruleset_id(ruleset_id):  # no folder can be named so: none is looked for
            return []
        folder = self.root / ruleset_id
        if not folder.is_dir():
            return []
        return sorted(
            int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_FILE.match(p.name))
        )

    def path(self, ruleset_id: str, version: int, suffix: str = "json") -> Path:
        """The version file v<N>.json, or with `suffix` a file derived from it (v<N>.<suffix>)."""
        return self.root / ruleset_id / f"v{version}.{suffix}"

    def load(self, ruleset_id: str, version: int | None = None) -> dict[str, Any]:
        """A verified version (the latest when `version` is None)."""
        check_ruleset_id(ruleset_id)
        versions = self.versions(ruleset_id)
        if not versions:
            known = ", ".join(self.ruleset_ids()) or "none"
            raise StoreError(
                f"No published ruleset {ruleset_id!r} in {self.root}/ (published: {known})."
            )
        version = versions[-1] if version is None else version
        if version not in versions:
            raise StoreError(
                f"Ruleset {ruleset_id!r} has no version {version}; published: "
                f"{', '.join(f'v{v}' for v in versions)}."
            )
        doc = load_file(self.path(ruleset_id, version))
        if doc["ruleset_id"] != ruleset_id or doc["version"] != version:
            raise StoreError(
                f"{self.path(ruleset_id, version)} holds {doc['ruleset_id']} "
                f"v{doc['version']}, not what its name says."
            )
        return doc

    def entries(
        self, ruleset_id: str, loaded: dict[int, dict] | None = None
    ) -> list[dict[str, Any]]:
        """The index entries, one per version file in order, each read and verified (see
        `index_entry`), with the files derived from it and their sha256 (`files`). `loaded`:
        versions already read and verified, not to read again."""
        loaded = loaded or {}
        out, previous = [], None
        for v in self.versions(ruleset_id):
            doc = loaded.get(v) or self.load(ruleset_id, v)
            out.append({**index_entry(doc, previous), "files": self.derived_files(ruleset_id, v)})
            previous = doc
        return out

    def derived_files(self, ruleset_id: str, version: int) -> dict[str, dict[str, str]]:
        """The files beside a version, derived from it (v3.jdm.json), as the index lists them:
        {"jdm": {"file": "v3.jdm.json", "sha256": ...}}, keyed by their suffix without .json."""
        prefix, out = f"v{version}.", {}
        for p in sorted((self.root / ruleset_id).glob(f"v{version}.*")):
            suffix = p.name.removeprefix(prefix)
            if suffix != "json" and _DERIVED_FILE.match(p.name) and p.is_file():
                out[suffix.removesuffix(".json")] = {"file": p.name, "sha256": _file_sha256(p)}
        return out

    def index(self, ruleset_id: str, loaded: dict[int, dict] | None = None) -> dict[str, Any]:
        """The index as it should be, derived from the version files (`loaded`: as `entries`)."""
        return {"ruleset_id": ruleset_id, "versions": self.entries(ruleset_id, loaded)}

    def read_index(self, ruleset_id: str, loaded: dict[int, dict] | None = None) -> dict[str, Any]:
        """index.json as published, verified: it lists the version files as they are, and each
        file derived from a version (its JDM graph) still has the sha256 the index gives it.
        StoreError, in one line, otherwise. `loaded`: versions already read and verified."""
        path = self.root / ruleset_id / INDEX_FILE
        check_ruleset_id(ruleset_id)
        on_disk = self._index_on_disk(ruleset_id)
        if on_disk is None:
            raise StoreError(
                f"{path} is missing or unreadable; `dqm compile` of the workbook writes it again."
            )
        expected = self.index(ruleset_id, loaded)
        if on_disk == expected:
            return on_disk
        self._check_derived(ruleset_id, on_disk, _files(expected))
        raise StoreError(
            f"{path} does not list the version files as they are (edited by hand, or a publish "
            "was cut short); `dqm compile` of the workbook writes it again."
        )

    def _index_on_disk(self, ruleset_id: str) -> dict[str, Any] | None:
        try:
            index = orjson.loads((self.root / ruleset_id / INDEX_FILE).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        return index if isinstance(index, dict) else None

    def _check_derived(
        self,
        ruleset_id: str,
        on_disk: dict[str, Any] | None,
        now: dict[int, dict[str, dict[str, str]]] | None = None,
    ) -> None:
        """Refuse a derived file (a JDM graph) whose sha256 differs from the one `on_disk` (the
        index as it was published) gives it. `now`: each version's derived files as they are
        (`derived_files`), when already hashed."""
        versions = (on_disk or {}).get("versions")
        published = set(self.versions(ruleset_id))
        for entry in versions if isinstance(versions, list) else []:
            recorded = entry.get("files") if isinstance(entry, dict) else None
            if not isinstance(recorded, dict) or entry.get("version") not in published:
                continue
            files = (
                now.get(entry["version"], {})
                if now is not None
                else self.derived_files(ruleset_id, entry["version"])
            )
            for key, listed in recorded.items():
                if key in files and files[key] != listed:
                    raise StoreError(
                        f"{self.root / ruleset_id / files[key]['file']} has been changed since it "
                        f"was published (its sha256 does not match {INDEX_FILE}). Restore it from "
                        "version control; never edit exports by hand."
                    )

    def load_derived(self, ruleset_id: str, version: int, suffix: str) -> bytes:
        """A file derived from a version (suffix "jdm.json": its JDM graph), verified against the
        sha256 the index gives it."""
        index = self.read_index(ruleset_id)
        entry = next((e for e in index["versions"] if e["version"] == version), None)
        listed = (entry or {}).get("files", {}).get(suffix.removesuffix(".json"))
        if listed is None:
            raise StoreError(f"{INDEX_FILE} of {ruleset_id} lists no v{version}.{suffix}.")
        path = self.root / ruleset_id / listed["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        if hashlib.sha256(data).hexdigest() != listed["sha256"]:  # changed since read_index
            raise StoreError(f"{path} has been changed since it was published.")
        return data

    def index_problems(self, ruleset_id: str) -> list[str]:
        """Where index.json disagrees with the version files (empty when they agree)."""
        path = self.root / ruleset_id / INDEX_FILE
        try:
            on_disk = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return [f"{path} is missing or unreadable."]
        return (
            []
            if on_disk == self.index(ruleset_id)
            else [f"{path} does not list the version files."]
        )

    @contextlib.contextmanager
    def publishing(
        self, ruleset_id: str, latest: dict[str, Any] | None = None
    ) -> Iterator[Publishing]:
        """Hold the ruleset's lock while publishing into it: what a killed publisher left behind is
        swept first, and the `Publishing` says the latest version and the next number. `latest`:
        a version already read and verified, used when it is still the latest (a published file
        is never rewritten), not read again."""
        check_ruleset_id(ruleset_id)
        folder = make_folder(self.root / ruleset_id)
        for place in (folder, folder / ".lock"):
            # Never written through: a linked folder would put a version elsewhere, and the lock
            # file is opened for writing (truncated) by filelock.
            if place.is_symlink():
                raise StoreError(
                    f"{place} is a symbolic link; dqm writes only into real folders and files "
                    f"inside {self.root}/. Replace the link with the folder itself."
                )
        with _locked(folder / ".lock"):
            versions = self.versions(ruleset_id)
            _sweep(folder, versions[-1] if versions else 0)
            # A graph changed since its index entry was written stops the publish before it
            # writes anything: a new index would otherwise list the changed file as published.
            self._check_derived(ruleset_id, self._index_on_disk(ruleset_id))
            if versions and (latest is None or latest["version"] != versions[-1]):
                latest = self.load(ruleset_id)
            yield Publishing(self, ruleset_id, latest if versions else None)

    def _write_schema(self) -> None:
        """The schemas of what the exports hold and what `dqm decide` writes, beside them."""
        for name in SCHEMA_FILES:
            data = (json.dumps(schema(name), indent=2, ensure_ascii=False) + "\n").encode()
            target = self.root / name
            if not target.exists() or target.read_bytes() != data:
                replace_file(target, data)


class Publishing:
    """One publisher's hold on a ruleset (only inside `Store.publishing`, under its lock)."""

    def __init__(self, store: Store, ruleset_id: str, previous: dict[str, Any] | None):
        self.store, self.ruleset_id = store, ruleset_id
        self.previous = previous  # the latest version, verified; None for a new ruleset
        self.version = previous["version"] + 1 if previous else 1  # the number the next one takes
        self._loaded = {previous["version"]: previous} if previous else {}

    def write(
        self,
        doc: dict[str, Any],
        data: bytes | list,
        derived: dict[str, bytes | list] | None = None,
    ) -> Path:
        """Publish `doc`, sealed and numbered `self.version`, whose canonical bytes are `data`: the
        files derived from it first (suffix -> bytes), then the version file, then the index."""
        if (doc["ruleset_id"], doc["version"]) != (self.ruleset_id, self.version):
            raise ValueError(
                f"{doc['ruleset_id']} v{doc['version']} is not the next version "
                f"of {self.ruleset_id}, v{self.version}."
            )
        _check_schema(doc, f"v{self.version}")  # never publish what a reader would refuse (its
        # hash was made from this very dict a moment ago)
        self.store._write_schema()
        written: list[Path] = []
        path = self.store.path(self.ruleset_id, self.version)
        try:
            for suffix, derived_data in (derived or {}).items():
                written.append(self.store.path(self.ruleset_id, self.version, suffix))
                _write_new(written[-1], derived_data)
            _write_new(path, data)
        except BaseException:
            # Under the lock, files of a version that never came are ours to take back: a failed
            # write (a full disk) leaves the store as it was, not an orphan for the next sweep.
            for p in written:
                p.unlink(missing_ok=True)
            raise
        self._loaded[self.version] = doc
        try:
            self.write_index()
        except WriteError as exc:
            raise WriteError(
                exc.path,
                f"{exc.reason}. v{self.version} itself is published whole ({path}, with its "
                "graph); the next dqm compile brings index.json up to date",
            ) from None
        return path

    def write_derived(self, version: int, suffix: str, data: bytes | list) -> Path:
        """A file derived from a published version, written beside it; never rewritten."""
        path = self.store.path(self.ruleset_id, version, suffix)
        _write_new(path, data)
        return path

    def missing(self, suffix: str) -> list[int]:
        """The published versions without their v<N>.<suffix> beside them."""
        return [
            v
            for v in self.store.versions(self.ruleset_id)
            if not self.store.path(self.ruleset_id, v, suffix).exists()
        ]

    def load(self, version: int) -> dict[str, Any]:
        """A published version, verified (once per publish)."""
        if version not in self._loaded:
            self._loaded[version] = self.store.load(self.ruleset_id, version)
        return self._loaded[version]

    def write_index(self) -> None:
        """Rewrite index.json where it does not list the version files as they are. A derived
        file whose sha256 the index already gives, and which has changed since, is refused: the
        index would otherwise bless the change."""
        path = self.store.root / self.ruleset_id / INDEX_FILE
        index = self.store.index(self.ruleset_id, self._loaded)
        # A missing or stale index is what is repaired here; a changed graph is not.
        on_disk = self.store._index_on_disk(self.ruleset_id)
        self.store._check_derived(self.ruleset_id, on_disk, _files(index))
        data = canonical_bytes(index)
        if not path.exists() or path.read_bytes() != data:
            replace_file(path, data)


def _files(index: dict[str, Any]) -> dict[int, dict[str, dict[str, str]]]:
    """Each version's derived files as an index (made by `Store.index`) lists them."""
    return {e["version"]: e["files"] for e in index["versions"]}


def is_ruleset_id(text: str) -> bool:
    """Whether `text` can name a ruleset (and so its folder): a slug of at most 64 characters."""
    return len(text) <= MAX_ID_LENGTH and _RULESET_ID.fullmatch(text) is not None


def check_ruleset_id(text: str) -> None:
    """Refuse, in one line, what cannot name a ruleset, before it reaches the file system."""
    if not is_ruleset_id(text):
        shown = plain_text(text[:MAX_ID_LENGTH]) + ("…" if len(text) > MAX_ID_LENGTH else "")
        raise StoreError(
            f"{shown!r} is not a ruleset id: an id is lowercase letters, digits and hyphens, "
            f"at most {MAX_ID_LENGTH} characters."
        )


def index_entry(doc: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """What the index says of one version, given the version before it (None for the first):
    enough to choose it without opening it."""
    return {
        "version": doc["version"],
        "file": f"v{doc['version']}.json",
        "sha256": doc["sha256"],
        "content_sha256": doc["content_sha256"],
        "effective_date": effective_date(doc),
        "review_dates": {p["policy_id"]: p["review_date"] for p in doc["policies"]},
        "history_added": history_added(doc, previous),
    }


def history_added(doc: dict[str, Any], previous: dict[str, Any] | None) -> list[dict[str, str]]:
    """The History rows `doc` adds to `previous` (all of them in a first version), as
    {policy_id, type_of_revision, summary_of_changes, review_date}, by policy and Review Date.
    Rows are known by policy and Review Date, as the version's changes know them: a row edited in
    place (same policy and date, another type or summary) is a change, not an added row."""
    before = _history_rows(previous) if previous else []
    had = Counter((r[0], r[3]) for r in before)
    exact = set(before)
    rows: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
    for row in _history_rows(doc):
        rows.setdefault((row[0], row[3]), []).append(row)
    new = []
    for key, same_date in rows.items():
        extra = len(same_date) - had[key]
        if extra > 0:  # the rows the previous version lacks come first
            new += sorted(same_date, key=lambda r: r in exact)[:extra]
    return [
        dict(zip(HISTORY_FIELDS, row, strict=True))
        for row in sorted(new, key=lambda r: (r[0], r[3], r[1], r[2]))
    ]


def _history_rows(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (p["policy_id"], h["type_of_revision"], h["summary_of_changes"], h["review_date"])
        for p in doc["policies"]
        for h in p["history"]
    ]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sweep(folder: Path, latest: int) -> None:
    """Remove what a killed publisher left behind (only ever under the lock): temporary files, and
    files derived from a version after the latest, whose version file was never written."""
    for p in folder.glob(".*.tmp"):
        p.unlink(missing_ok=True)
    for p in folder.iterdir():
        m = _DERIVED_FILE.match(p.name)
        if m and int(m.group(1)) > latest:
            p.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """The lock file `path` held (a lock that cannot be made, in a read-only folder: WriteError)."""
    lock = FileLock(path)
    try:
        lock.acquire()
    except OSError as exc:
        raise WriteError(path, why(exc, path)) from None
    try:
        yield
    finally:
        lock.release()


def _write_new(path: Path, data: bytes | list) -> None:
    """Create `path` atomically; a published file is never rewritten."""
    try:
        create_file(path, data)
    except FileExistsError:
        raise StoreError(f"{path} is already published and is never rewritten.") from None
