"""One publisher's hold on a ruleset, inside `Store.publishing` and its lock: the next version and
the files derived from it written (each created, never rewritten), then index.json."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import create_file, replace_file
from ..errors import StoreError, WriteError
from .index import INDEX_FILE
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
