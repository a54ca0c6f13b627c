"""The passage store: documents and passages in SQLite under the data directory.

SQLite gives atomic replacement for free: a document's old passages are deleted and its new
ones inserted in one transaction, so a crash leaves either the old document or the new one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ingest.model import Document, Passage

from .units import UNITS_VERSION, Unit

ENV_DATA_DIR = "OMBUDS_DATA_DIR"
CHECKOUT = Path(__file__).resolve().parent.parent
DB_NAME = "ombuds.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    short_title TEXT,
    publisher TEXT,
    date TEXT,
    symbol TEXT,
    kind TEXT,
    jurisdiction TEXT,
    language TEXT,
    completeness TEXT,
    source_file TEXT,
    content_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    n_passages INTEGER NOT NULL,
    text TEXT NOT NULL,
    footnotes TEXT NOT NULL,
    stats TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    passage_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    passage_type TEXT NOT NULL,
    section TEXT NOT NULL,
    page INTEGER,
    page_end INTEGER,
    paragraph TEXT,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    footnotes TEXT NOT NULL,
    legal_refs TEXT NOT NULL,
    speaker TEXT,
    place TEXT,
    date TEXT,
    addressee TEXT,
    instrument TEXT,
    article TEXT,
    ocr INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS embeddings (
    passage_id TEXT PRIMARY KEY REFERENCES passages(passage_id) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
-- sentence units (index/units.py): a passage's sentences and footnotes, each with its vector
-- (float16: half the disk of float32, scores equal to the third decimal)
CREATE TABLE IF NOT EXISTS units (
    passage_id TEXT NOT NULL REFERENCES passages(passage_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    note TEXT,
    vector BLOB NOT NULL,
    PRIMARY KEY (passage_id, seq)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id, seq);
CREATE INDEX IF NOT EXISTS passages_type ON passages(passage_type);
"""

PASSAGE_COLUMNS = [
    "passage_id",
    "doc_id",
    "seq",
    "passage_type",
    "section",
    "page",
    "page_end",
    "paragraph",
    "start",
    "end",
    "text",
    "footnotes",
    "legal_refs",
    "speaker",
    "place",
    "date",
    "addressee",
    "instrument",
    "article",
    "ocr",
]
# Columns added after the first release: (table, column, definition), added to older databases.
MIGRATIONS = [("passages", "ocr", "INTEGER NOT NULL DEFAULT 0")]
JSON_COLUMNS = {"section", "footnotes", "legal_refs"}
# by name: a migrated database has its added columns last, in whatever order they were added
_QUOTED = ", ".join(f'"{c}"' for c in PASSAGE_COLUMNS)
_MARKS = ", ".join("?" * len(PASSAGE_COLUMNS))
INSERT_PASSAGE = f"INSERT INTO passages ({_QUOTED}) VALUES ({_MARKS})"


@dataclass
class UnitVectors:
    """A passage's sentence units and their vectors (one row per unit)."""

    units: list[Unit]
    vectors: np.ndarray


def _unit_rows(units: dict[str, UnitVectors]) -> list[tuple]:
    """Rows of the units table (vectors as float16) for passages' units."""
    return [(pid, i, u.kind, u.start, u.end, u.note, uv.vectors[i].astype(np.float16).tobytes())
            for pid, uv in units.items() for i, u in enumerate(uv.units)]


def _pause_for_tests(point: str) -> None:
    """Crash tests stop a real ingest at named points: OMBUDS_PAUSE_AT=point makes the process
    announce the point on stderr and wait there to be killed."""
    if os.environ.get("OMBUDS_PAUSE_AT") == point:
        print(f"PAUSED at {point}", file=sys.stderr, flush=True)
        time.sleep(3600)


def default_data_dir() -> Path:
    """$OMBUDS_DATA_DIR, else data/ inside the checkout (git-ignored)."""
    return Path(os.environ.get(ENV_DATA_DIR) or CHECKOUT / "data")


class Store:
    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir or default_data_dir())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA synchronous=NORMAL")
        # deleted rows are overwritten with zeros, not left in free pages: a removed testimony
        # must not stay readable in the database file
        self.db.execute("PRAGMA secure_delete=ON")
        self.db.executescript(SCHEMA)
        self._migrate()
        if self.get_meta("units_version") is None and not self.db.execute(
                "SELECT 1 FROM units UNION ALL SELECT 1 FROM embeddings LIMIT 1").fetchone():
            self.set_meta("units_version", UNITS_VERSION)  # a new store: its units are current

    def _migrate(self) -> None:
        """Add the columns that a database made by an earlier version lacks."""
        for table, column, definition in MIGRATIONS:
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self.db.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {definition}')

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every read inside sees the store as of the same commit (WAL
        readers never wait for a writer), so a generation read with them stamps exactly them."""
        self.db.execute("BEGIN")
        try:
            yield self.db
        finally:
            self.db.execute("COMMIT")

    # --- documents ---------------------------------------------------------------------

    def content_hash(self, doc_id: str) -> str | None:
        row = self.db.execute("SELECT content_hash FROM documents WHERE doc_id=?", (doc_id,))
        found = row.fetchone()
        return found[0] if found else None

    def put(self, doc: Document, passages: list[Passage],
            vectors: dict[str, np.ndarray] | None = None,
            units: dict[str, UnitVectors] | None = None) -> None:
        """Store a document, its passages, their embeddings and their sentence units, replacing
        any earlier version, in one transaction: readers see the old document or the new one,
        never a mix."""
        with self.transaction() as db:
            self._put(db, doc, passages)
            if vectors:
                db.executemany(
                    "INSERT INTO embeddings VALUES (?, ?)",
                    [(p.passage_id, vectors[p.passage_id].astype(np.float32).tobytes())
                     for p in passages if p.passage_id in vectors],
                )
            if units:
                db.executemany(
                    "INSERT INTO units VALUES (?, ?, ?, ?, ?, ?, ?)",
                    _unit_rows({p.passage_id: units[p.passage_id] for p in passages
                                if p.passage_id in units}))
            self._bump(db)

    # --- embeddings and index bookkeeping -------------------------------------------------

    def vectors(self, doc_id: str | None = None) -> dict[str, np.ndarray]:
        """Stored embeddings by passage id (of one document, or all): a (windows x dim) matrix
        per passage."""
        dim = int(self.get_meta("model_dim") or 0)
        sql = "SELECT e.passage_id, e.vector FROM embeddings e"
        args: tuple = ()
        if doc_id:
            sql += " JOIN passages p USING (passage_id) WHERE p.doc_id=?"
            args = (doc_id,)
        out = {}
        for pid, blob in self.db.execute(sql, args):
            v = np.frombuffer(blob, dtype=np.float32)
            out[pid] = v.reshape(-1, dim) if dim else v.reshape(1, -1)
        return out

    def unit_vectors(self, doc_id: str | None = None) -> dict[str, UnitVectors]:
        """Stored sentence units by passage id (of one document, or all), in passage order."""
        sql = ("SELECT u.passage_id, u.kind, u.start, u.\"end\", u.note, u.vector FROM units u")
        args: tuple = ()
        if doc_id:
            sql += " JOIN passages p USING (passage_id) WHERE p.doc_id=?"
            args = (doc_id,)
        rows: dict[str, tuple[list[Unit], list[np.ndarray]]] = {}
        for pid, kind, start, end, note, blob in self.db.execute(sql + " ORDER BY 1, u.seq",
                                                                  args):
            found = rows.setdefault(pid, ([], []))
            found[0].append(Unit(kind, start, end, "", note))
            found[1].append(np.frombuffer(blob, dtype=np.float16))
        return {pid: UnitVectors(us, np.stack(vs).astype(np.float32))
                for pid, (us, vs) in rows.items()}

    def add_units(self, units: dict[str, UnitVectors]) -> None:
        """Sentence units for passages stored before units existed (derived data: the
        generation stays, since no document changed)."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?, ?)", _unit_rows(units))

    def clear_units(self, version: str) -> None:
        """Drop every stored sentence unit (derived data, embedded again from the passages) and
        record the units version the store is to hold."""
        with self.transaction() as db:
            db.execute("DELETE FROM units")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('units_version', ?)", (version,))

    def vectors_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def clear_vectors(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM embeddings")
            db.execute("DELETE FROM units")
            db.execute("DELETE FROM meta WHERE key IN ('model', 'model_dim')")
            self._bump(db)

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Bumped by every change to documents; index files record the one they were built at."""
        return int(self.get_meta("generation") or 0)

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def _put(self, db: sqlite3.Connection, doc: Document, passages: list[Passage]) -> None:
        db.execute("DELETE FROM documents WHERE doc_id=?", (doc.doc_id,))
        db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.doc_id,
                doc.title,
                doc.short_title,
                doc.publisher,
                doc.date,
                doc.symbol,
                doc.kind,
                doc.jurisdiction,
                doc.language,
                doc.completeness,
                doc.source_file,
                doc.content_hash,
                datetime.now(UTC).isoformat(timespec="seconds"),
                len(passages),
                doc.text,
                json.dumps(doc.footnotes, ensure_ascii=False),
                json.dumps(doc.stats, ensure_ascii=False, default=str),
            ),
        )
        _pause_for_tests("in-transaction")
        db.executemany(
            INSERT_PASSAGE,
            [self._row(p) for p in passages],
        )

    @staticmethod
    def _row(p: Passage) -> tuple:
        d = p.to_dict()
        return tuple(
            json.dumps(d[c], ensure_ascii=False) if c in JSON_COLUMNS else d[c]
            for c in PASSAGE_COLUMNS
        )

    def remove(self, doc_id: str) -> dict | None:
        """Remove a document with its passages and embeddings (cascade) in one transaction;
        returns the removed document's row (without its text), None when there was none."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT doc_id, title, short_title, source_file, content_hash, n_passages "
                "FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            self._bump(db)
        # copy the zeroed pages into the database file and empty the write-ahead log, which
        # still holds the pages written when the document was ingested (best effort: a reader
        # on an older snapshot makes SQLite leave the log for a later checkpoint)
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dict(row)

    def documents(self) -> list[dict]:
        rows = self.db.execute(
            "SELECT doc_id, title, short_title, publisher, date, symbol, kind, jurisdiction, "
            "language, completeness, source_file, content_hash, ingested_at, n_passages "
            "FROM documents ORDER BY doc_id"
        )
        return [dict(r) for r in rows]

    def document(self, doc_id: str) -> dict | None:
        row = self.db.execute("SELECT * FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["footnotes"] = json.loads(d["footnotes"])
        d["stats"] = json.loads(d["stats"])
        return d

    # --- passages ----------------------------------------------------------------------

    def passages(
        self, doc_id: str | None = None, passage_type: str | None = None
    ) -> Iterator[Passage]:
        where, args = [], []
        if doc_id:
            where.append("doc_id=?")
            args.append(doc_id)
        if passage_type:
            where.append("passage_type=?")
            args.append(passage_type)
        sql = "SELECT * FROM passages"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY doc_id, seq"
        for row in self.db.execute(sql, args):
            yield self._passage(row)

    def passage(self, passage_id: str) -> Passage | None:
        row = self.db.execute("SELECT * FROM passages WHERE passage_id=?", (passage_id,))
        found = row.fetchone()
        return self._passage(found) if found else None

    @staticmethod
    def _passage(row: sqlite3.Row) -> Passage:
        d = {c: row[c] for c in PASSAGE_COLUMNS}
        for c in JSON_COLUMNS:
            d[c] = json.loads(d[c])
        return Passage.from_dict(d)

    def counts_by_type(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT passage_type, COUNT(*) FROM passages GROUP BY passage_type ORDER BY 1"
        )
        return {r[0]: r[1] for r in rows}
