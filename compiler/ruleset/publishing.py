"""One publisher's hold on a ruleset, inside `Store.publishing` and its lock: the next version and
the files derived from it written (each created, never rewritten), then index.json."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import create_file, replace_file
from ..errors import StoreError, WriteError
from .index import DERIVED_FILE, INDEX_FILE
from .sealing import canonical_bytes, check_schema

if TYPE_CHECKING:
    from .store import Store


class Publishing:
    """One publisher's hold on a ruleset (only inside `Store.publishing`, under its lock)."""

    def __init__(self, store: Store, ruleset_id: str, previous: dict[str, Any] | None):
        self.store, self.ruleset_id = store, ruleset_id
        self.previous = previous  # the latest version, verified; None for a new ruleset
        self.version = previous["version"] + 1 if previous else 1  # the number the next one takes
        self._loaded = {previous["version"]: previous} if previous else {}
        self.repaired: list[str] = []  # what a cut-short publish had left, in words (cut_short)

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
        check_schema(doc, f"v{self.version}")  # never publish what a reader would refuse (its
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
        self.store._check_derived(self.ruleset_id, on_disk, files_of(index))
        data = canonical_bytes(index)
        if not path.exists() or path.read_bytes() != data:
            replace_file(path, data)


def files_of(index: dict[str, Any]) -> dict[int, dict[str, dict[str, str]]]:
    """Each version's derived files as an index (made by `Store.index`) lists them."""
    return {e["version"]: e["files"] for e in index["versions"]}


def _write_new(path: Path, data: bytes | list) -> None:
    """Create `path` atomically; a published file is never rewritten."""
    try:
        create_file(path, data)
    except FileExistsError:
        raise StoreError(f"{path} is already published and is never rewritten.") from None


def cut_short(store: Store, ruleset_id: str) -> list[str]:
    """What a publish killed part way left, in words, read from file names alone (no lock):
    temporary files, files derived from a version that never came, or a version published whole
    that index.json does not list yet (the index is written last); the next publish, or `repair`,
    mends them. An index listing a version whose file is gone is no cut-short publish, and
    rewriting the index would hide a loss: StoreError."""
    folder, versions = store.root / ruleset_id, store.versions(ruleset_id)
    if not versions:
        return []
    listed = _listed(store, ruleset_id)
    if listed is not None and listed != versions[: len(listed)]:
        missing = ", ".join(f"v{v}" for v in listed if v not in versions)
        raise StoreError(
            f"{folder / INDEX_FILE} lists {missing or 'versions'} that the folder does not hold "
            "as published; restore the folder from version control."
        )
    notes = []
    swept = len(leftovers(folder, versions[-1]))
    if swept:
        notes.append(f"Removed {swept} file(s) a cut-short compile left in {folder}.")
    if listed != versions:
        added = ", ".join(f"v{v}" for v in versions[len(listed or []) :])
        notes.append(
            f"{folder / INDEX_FILE} now lists {added}, published whole by a compile that was cut "
            "short before it listed it."
        )
    return notes


def repair(store: Store, ruleset_id: str) -> list[str]:
    """Mend what `cut_short` finds, under the ruleset's lock (which sweeps the leftovers), and
    say what was mended; nothing is locked or written when nothing needs it."""
    if not cut_short(store, ruleset_id):  # nothing to mend: nothing locked or written
        return []
    with store.publishing(ruleset_id) as publishing:  # told again under the lock
        publishing.write_index()
        return publishing.repaired


def _listed(store: Store, ruleset_id: str) -> list[int] | None:
    """The version numbers index.json lists, in its order (None: no readable index)."""
    index = store._index_on_disk(ruleset_id)
    entries = index.get("versions") if index else None
    if not isinstance(entries, list):
        return None
    return [e.get("version") if isinstance(e, dict) else None for e in entries]


def leftovers(folder: Path, latest: int) -> list[Path]:
    """What a killed publisher left behind: temporary files, and files derived from a version
    after the latest, whose version file was never written."""
    if not folder.is_dir():
        return []
    after = [
        p for p in folder.iterdir() if (m := DERIVED_FILE.match(p.name)) and int(m[1]) > latest
    ]
    return sorted([*folder.glob(".*.tmp"), *after])
