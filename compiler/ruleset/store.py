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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..atomic import make_folder, replace_file, why
from ..errors import StoreError, UsageError, WriteError
from ..vocabulary import MAX_ID_LENGTH, SLUG, plain_text
from .index import DERIVED_FILE, INDEX_FILE, index_entry
from .publishing import Publishing, cut_short, files_of, leftovers, repair
from .sealing import SCHEMA_FILES, load_file, schema

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.json$")
_RULESET_ID = re.compile(SLUG, re.ASCII)
_VERSION = re.compile(r"[vV]?([0-9]{1,9})", re.ASCII)


@dataclass
class Listing:
    """A ruleset's published versions as `Store.listing` read them."""

    store: Store
    ruleset_id: str
    docs: dict[int, dict[str, Any]] = field(default_factory=dict)  # verified, in order
    refused: dict[int, str] = field(default_factory=dict)  # why a version cannot be read

    def require(self) -> dict[int, dict[str, Any]]:
        """Every version, verified; StoreError naming the first refused, or (none published)
        which rulesets there are."""
        if not self.docs and not self.refused:
            self.store.load(self.ruleset_id)  # the store's words: no such ruleset, which there are
        if self.refused:
            raise StoreError(next(iter(self.refused.values())))
        return self.docs

    def index_problem(self) -> str | None:
        """Why the ruleset's index.json (or a JDM graph it lists) cannot be trusted, or None."""
        try:
            self.store.read_index(self.ruleset_id, self.docs)
        except StoreError as exc:
            return str(exc)
        return None


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
    """An exports folder (see the module's docstring), read and published into."""

    def __init__(self, root: str | Path = "exports", trust: Ed25519PublicKey | None = None):
        self.root = Path(root)
        self.trust = trust  # a public key: every version read must carry its signature

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

    def listing(
        self, ruleset_id: str, load: Callable[[int], dict[str, Any]] | None = None
    ) -> Listing:
        """Every published version of a ruleset, each read and verified (by `load`, a cached
        reader, when given), and those refused with the store's words."""
        load = load or (lambda v: self.load(ruleset_id, v))
        listing = Listing(self, ruleset_id)
        for v in self.versions(ruleset_id):
            try:
                listing.docs[v] = load(v)
            except StoreError as exc:
                listing.refused[v] = str(exc)
        return listing

    def repair(self, ruleset_id: str) -> list[str]:
        """Finish or discard what a publisher that was cut short left (publishing.repair): what
        was done, in words; nothing when there was nothing to do."""
        return repair(self, ruleset_id)

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
        doc = load_file(self.path(ruleset_id, version), self.trust)
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
            if suffix != "json" and DERIVED_FILE.match(p.name) and p.is_file():
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
        self._check_derived(ruleset_id, on_disk, files_of(expected))
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
            # What a killed publisher left, told under the lock: another's publish in progress
            # is never taken for it.
            mended = cut_short(self, ruleset_id)
            _sweep(folder, versions[-1] if versions else 0)
            # A graph changed since its index entry was written stops the publish before it
            # writes anything: a new index would otherwise list the changed file as published.
            self._check_derived(ruleset_id, self._index_on_disk(ruleset_id))
            if versions and (latest is None or latest["version"] != versions[-1]):
                latest = self.load(ruleset_id)
            publishing = Publishing(self, ruleset_id, latest if versions else None)
            publishing.repaired = mended
            yield publishing

    def _write_schema(self) -> None:
        """The schemas of what the exports hold and what `dqm decide` writes, beside them."""
        for name in SCHEMA_FILES:
            data = (json.dumps(schema(name), indent=2, ensure_ascii=False) + "\n").encode()
            target = self.root / name
            if not target.exists() or target.read_bytes() != data:
                replace_file(target, data)


def version_number(text: str) -> int | None:
    """A version as people write it: 4, v4, or latest (None, as `Store.load` takes the latest).
    ASCII digits only: str.isdigit() and int() would read "３" (full-width) or "٣" as 3."""
    if text.strip().casefold() == "latest":
        return None
    m = _VERSION.fullmatch(text)
    if m is None or int(m.group(1)) < 1:
        raise UsageError(
            f"{plain_text(text)!r} is not a version number; use 1, 2, … or v1, v2, … (or latest)."
        )
    return int(m.group(1))


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


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sweep(folder: Path, latest: int) -> None:
    """Remove the leftovers (only ever under the lock)."""
    for p in leftovers(folder, latest):
        p.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """The lock file `path` held (a lock that cannot be made, in a read-only folder: WriteError)."""
    from filelock import FileLock  # only to publish: a tenth of dqm decide's start

    lock = FileLock(path)
    try:
        lock.acquire()
    except OSError as exc:
        raise WriteError(path, why(exc, path)) from None
    try:
        yield
    finally:
        lock.release()
