"""The library's storage: PNG files under a folder and one SQLite database indexing them.

Crash safety (docs/LIBRARY.md): a file is complete on disk (temporary name, fsync, rename) before
its row exists; a deletion marks the row, removes the files, then the row. `open()` finishes what a
crash interrupted, so a row never points at a missing or half-written file. Several processes may
share a library: SQLite's WAL mode and busy timeout serialize their writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import io
import logging
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, features

from sdturbo import metadata
from sdturbo.errors import Conflict, InvalidParameterError, NotFound
from sdturbo.library.record import CHUNK, Collection, Entry, ImageRecord, utc_now
from sdturbo.metadata import write_atomically
from sdturbo.params import check_printable, check_side

log = logging.getLogger(__name__)

DB_NAME = "library.db"
BUSY_TIMEOUT_MS = 10_000
MAX_PAGE = 200
DEFAULT_PAGE = 50
MAX_NOTE_CHARS = 2000
MAX_NAME_CHARS = 80
THUMB_SIDE = 256
THUMB_FORMAT = ("WEBP", "webp") if features.check("webp") else ("JPEG", "jpg")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TMP_RE = re.compile(r"^\..+\.(\d+)\.[0-9a-f]+\.tmp$")  # .<name>.<pid>.<random>.tmp
_UNPROTECTED = "starred = 0 AND id NOT IN (SELECT image_id FROM image_collections)"  # what retention may delete

# Each migration takes the schema from version i to i + 1 (PRAGMA user_version); never edit one.
MIGRATIONS = (
    """
    CREATE TABLE images (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: URLs, thumbnails and caches stay right
        created TEXT NOT NULL,
        prompt TEXT NOT NULL,
        effective_prompt TEXT NOT NULL,
        style TEXT NOT NULL,
        seed INTEGER NOT NULL,
        steps INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        model TEXT NOT NULL,
        vae TEXT,
        elapsed_ms REAL NOT NULL,
        file TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        starred INTEGER NOT NULL DEFAULT 0 CHECK (starred IN (0, 1)),
        note TEXT NOT NULL DEFAULT '',
        deleting INTEGER NOT NULL DEFAULT 0  -- 1: its files are being removed, then the row
    );
    CREATE INDEX images_starred ON images (starred, id);
    CREATE INDEX images_created ON images (created);
    CREATE INDEX images_size ON images (width, height, id);
    CREATE TABLE collections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created TEXT NOT NULL
    );
    CREATE TABLE image_collections (
        collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        PRIMARY KEY (collection_id, image_id)
    ) WITHOUT ROWID;
    CREATE INDEX image_collections_image ON image_collections (image_id);
    """,
    """
    ALTER TABLE images ADD COLUMN strength REAL;  -- image-to-image: NULL for text-to-image
    ALTER TABLE images ADD COLUMN init_sha256 TEXT;  -- its init image: inits/<sha256>.png
    """,
)

# The full-text index is derived data: created (and filled) whenever this SQLite has FTS5 and it is missing.
FTS_SCHEMA = """
    CREATE VIRTUAL TABLE images_fts USING fts5(
        prompt, effective_prompt, note, content='images', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN
        INSERT INTO images_fts (rowid, prompt, effective_prompt, note)
        VALUES (new.id, new.prompt, new.effective_prompt, new.note);
    END;
    CREATE TRIGGER images_fts_delete AFTER DELETE ON images BEGIN
        INSERT INTO images_fts (images_fts, rowid, prompt, effective_prompt, note)
        VALUES ('delete', old.id, old.prompt, old.effective_prompt, old.note);
    END;
    CREATE TRIGGER images_fts_update AFTER UPDATE OF prompt, effective_prompt, note ON images BEGIN
        INSERT INTO images_fts (images_fts, rowid, prompt, effective_prompt, note)
        VALUES ('delete', old.id, old.prompt, old.effective_prompt, old.note);
        INSERT INTO images_fts (rowid, prompt, effective_prompt, note)
        VALUES (new.id, new.prompt, new.effective_prompt, new.note);
    END;
    INSERT INTO images_fts (images_fts) VALUES ('rebuild');
"""

_RECORD_COLUMNS = [f.name for f in dataclasses.fields(ImageRecord)]
_COLUMNS = ["id", *_RECORD_COLUMNS, "file", "sha256", "bytes", "starred", "note"]


class LibraryError(RuntimeError):
    """The library cannot be read or written (a full disk, a read-only folder, a damaged database)."""


def has_fts5() -> bool:
    """Whether this Python's SQLite was built with FTS5."""
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    return True


@dataclass(frozen=True)
class Query:
    """A search of the library; every field is checked, from JSON values or query-string text."""

    q: str = ""  # words; each matches as a prefix (FTS5) or a substring (the LIKE fallback)
    starred: bool | None = None
    collection: int | None = None
    size: tuple[int, int] | None = None
    since: str | None = None  # YYYY-MM-DD, inclusive (UTC)
    until: str | None = None  # YYYY-MM-DD, inclusive (UTC)
    limit: int = DEFAULT_PAGE
    cursor: int | None = None  # the id the previous page ended at

    FIELDS = ("q", "starred", "collection", "size", "since", "until", "limit", "cursor")

    @classmethod
    def parse(cls, values: dict, *, paged: bool = True) -> Query:
        """From a query string or a JSON body: unknown fields, bad values and empty text raise, naming the field."""
        allowed = cls.FIELDS if paged else cls.FIELDS[:6]
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise InvalidParameterError(unknown[0], f"unknown field; allowed: {', '.join(allowed)}")
        given = {name: values[name] for name in allowed if values.get(name) not in (None, "")}
        parsed = {}
        if "q" in given:
            parsed["q"] = _text(given["q"], "q", 500)
        if "starred" in given:
            parsed["starred"] = _boolean(given["starred"], "starred")
        for name in ("collection", "cursor"):
            if name in given:
                parsed[name] = _identifier(given[name], name)
        if "size" in given:
            parsed["size"] = _size(given["size"])
        for name in ("since", "until"):
            if name in given:
                parsed[name] = _date(given[name], name)
        if "limit" in given:
            parsed["limit"] = _number(given["limit"], "limit", 1, MAX_PAGE)
        return cls(**parsed)


@dataclass(frozen=True)
class Page:
    items: list[Entry]
    next_cursor: int | None
    total: int


class Library:
    """Kept images under `root`: images/YYYY-MM/*.png, thumbs/, library.db. Thread-safe; call open() first."""

    def __init__(self, root: str | Path, *, retain: int | None = None, fts: bool | None = None) -> None:
        self.root = Path(root)
        self.retain = retain  # unstarred images kept (None: all); starred and collected images always stay
        self.fts = has_fts5() if fts is None else fts
        self._pool: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="library-write")

    # opening and recovery

    def open(self) -> Library:
        """Create or migrate the database and finish what a crash interrupted; raises LibraryError."""
        try:
            for folder in (self.root, self.root / "images", self.root / "thumbs", self.root / "inits"):
                folder.mkdir(parents=True, exist_ok=True)
            with self._connection() as db:
                db.execute("PRAGMA journal_mode = WAL")
                self._migrate(db)
            self.recover()
        except (OSError, sqlite3.Error) as err:
            raise LibraryError(f"cannot open the library at {self.root}: {_reason(err)}") from err
        return self

    def _migrate(self, db: sqlite3.Connection) -> None:
        with _transaction(db):  # BEGIN IMMEDIATE: processes opening at once migrate one after another
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise LibraryError(
                    f"{self.root / DB_NAME} has schema version {version}, newer than this program's "
                    f"{len(MIGRATIONS)}: update the program"
                )
            for number in range(version, len(MIGRATIONS)):
                for statement in _statements(MIGRATIONS[number]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")
                log.info("library schema migrated to version %d", number + 1)
            has_index = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'images_fts'").fetchone()
            if self.fts and not has_index:
                for statement in _statements(FTS_SCHEMA):
                    db.execute(statement)
            elif not self.fts and not has_index:
                log.warning("this SQLite has no FTS5: library search falls back to LIKE (slower on large libraries)")

    def recover(self) -> dict[str, int]:
        """Finish interrupted work: drop temporary files of dead processes and rows marked for deletion,
        and add back complete files whose row was never written. Returns what it did."""
        done = {"temporary": 0, "deleted": 0, "adopted": 0}
        for path in self.root.glob("images/*/.*.tmp"):
            match = _TMP_RE.match(path.name)
            if match and not _process_alive(int(match.group(1))):
                path.unlink(missing_ok=True)
                done["temporary"] += 1
        with self._connection() as db:
            marked = [row[0] for row in db.execute("SELECT id FROM images WHERE deleting = 1")]
            known = {row[0] for row in db.execute("SELECT file FROM images")}
        done["deleted"] = len(self._remove(marked))
        for path in sorted(self.root.glob("images/*/*.png")):
            name = path.relative_to(self.root).as_posix()
            if name not in known and self._adopt(path, name):
                done["adopted"] += 1
        if any(done.values()):
            log.warning("library recovered after an interrupted run: %s", done)
        return done

    def _adopt(self, path: Path, name: str) -> bool:
        """Add back a complete file whose row was never written; a file that is not ours is left alone."""
        try:
            data = path.read_bytes()
            with Image.open(path) as image:
                record = ImageRecord.from_json(image.info[CHUNK])
            return self._insert(record, name, hashlib.sha256(data).hexdigest(), len(data), adopting=path) is not None
        except (OSError, KeyError, ValueError, SyntaxError, OverflowError, sqlite3.IntegrityError) as err:
            log.warning("library: %s has no readable %s record (%s); left alone", path, CHUNK, err)
            return False

    # writing

    def add(self, record: ImageRecord, png: bytes, init_png: bytes | None = None) -> Entry:
        """Store one image (PNG bytes carrying `record`, and its init image's PNG for image-to-image);
        the row exists only once the files are complete."""
        name = _file_name(record)
        path = self.root / name
        try:
            if init_png is not None and record.init_sha256:
                init = self.init_path(record.init_sha256)
                if not init.exists():  # content-addressed: one file however many images start from it
                    write_atomically(init, init_png, durable=True)
            path.parent.mkdir(exist_ok=True)
            # fsync and sha256 both release the GIL: write on the pool while hashing here
            writing = self._writer.submit(write_atomically, path, png, durable=True)
            digest = hashlib.sha256(png).hexdigest()
            writing.result()
        except OSError as err:
            raise LibraryError(_reason(err)) from err
        try:
            entry_id = self._insert(record, name, digest, len(png))
        except sqlite3.Error as err:  # reported as not saved: the file must not come back on the next open
            path.unlink(missing_ok=True)
            raise LibraryError(_reason(err)) from err
        if self.retain is not None:
            try:
                self.prune()
            except (OSError, sqlite3.Error) as err:  # the new image is saved; retention runs again next time
                log.warning("library retention failed: %s", _reason(err))
        return Entry(entry_id, record, name, digest, len(png))

    def _insert(self, record: ImageRecord, name: str, sha256: str, size: int, adopting: Path | None = None):
        """The new row's id (the existing one's when a recovery added the file first); None when `adopting`
        a file that is gone by the time the row would be written (another process deleted it)."""
        values = {**dataclasses.asdict(record), "file": name, "sha256": sha256, "bytes": size}
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        with self._connection() as db, _transaction(db):
            if adopting is not None and not adopting.exists():
                return None
            row = db.execute(
                f"INSERT INTO images ({columns}) VALUES ({marks}) ON CONFLICT (file) DO NOTHING RETURNING id",
                list(values.values()),
            ).fetchone()
            if row is None:  # another process adopted the file first (recovery racing a writer): one row
                row = db.execute("SELECT id FROM images WHERE file = ?", (name,)).fetchone()
        return row[0]

    def update(self, entry_id: int, *, starred: bool | None = None, note: str | None = None, collections=None) -> Entry:
        """Change what the user adds to an image; `collections` is the new set of collection ids."""
        with self._connection() as db, _transaction(db):
            self._require(db, entry_id)
            if starred is not None:
                db.execute("UPDATE images SET starred = ? WHERE id = ?", (int(starred), entry_id))
            if note is not None:
                db.execute("UPDATE images SET note = ? WHERE id = ?", (note, entry_id))
            if collections is not None:
                self._require_collections(db, collections)
                db.execute("DELETE FROM image_collections WHERE image_id = ?", (entry_id,))
                db.executemany(
                    "INSERT INTO image_collections (collection_id, image_id) VALUES (?, ?)",
                    [(cid, entry_id) for cid in dict.fromkeys(collections)],
                )
        return self.get(entry_id)

    def delete(self, ids: Iterable[int]) -> tuple[list[int], list[int]]:
        """Delete images (files and rows); returns (deleted ids, ids that were not there)."""
        ids = list(dict.fromkeys(ids))
        try:
            deleted = self._remove(ids)
        except (OSError, sqlite3.Error) as err:
            raise LibraryError(f"cannot delete from the library: {_reason(err)}") from err
        return deleted, [i for i in ids if i not in set(deleted)]

    def _remove(self, ids: list[int], only: str = "1") -> list[int]:
        """Delete the images of `ids` that match the SQL condition `only` when they are marked."""
        if not ids:
            return []
        with self._connection() as db:
            with _transaction(db):  # 1. mark (checking `only` in the same transaction): a crash from here
                rows = []  # on is finished by recover()
                for chunk in _chunks(ids, 500):
                    marks = ", ".join("?" * len(chunk))
                    rows += db.execute(
                        f"UPDATE images SET deleting = 1 WHERE id IN ({marks}) AND ({only}) RETURNING id, file", chunk
                    ).fetchall()
            for entry_id, name in rows:  # 2. the files
                (self.root / name).unlink(missing_ok=True)
                self._thumb_path(entry_id).unlink(missing_ok=True)
            with _transaction(db):  # 3. the rows
                db.executemany("DELETE FROM images WHERE id = ?", [(row[0],) for row in rows])
        return [row[0] for row in rows]

    def prune(self) -> list[int]:
        """Retention: delete unstarred images outside collections beyond the newest `retain`."""
        if self.retain is None:
            return []
        with self._connection() as db:
            old = [
                row[0]
                for row in db.execute(
                    f"SELECT id FROM images WHERE deleting = 0 AND {_UNPROTECTED} ORDER BY id DESC LIMIT -1 OFFSET ?",
                    (self.retain,),
                )
            ]
        if old:
            log.info("library retention (%d unstarred kept): deleting %d older images", self.retain, len(old))
        return self._remove(old, only=_UNPROTECTED)  # starred or collected since the SELECT: it stays

    # reading

    def get(self, entry_id: int) -> Entry:
        with self._connection() as db:
            entries = self._entries(db, "WHERE id = ? AND deleting = 0", [entry_id])
        if not entries:
            raise NotFound(f"no image {entry_id} in the library")
        return entries[0]

    def search(self, query: Query = Query()) -> Page:
        """Entries matching `query`, newest first, one page at a time."""
        where, args = self._where(query)
        with self._connection() as db:
            total = db.execute(f"SELECT COUNT(*) FROM images {where}", args).fetchone()[0]
            if query.cursor is not None:
                where, args = f"{where} AND id < ?", [*args, query.cursor]
            items = self._entries(db, f"{where} ORDER BY id DESC LIMIT ?", [*args, query.limit + 1])
        more = len(items) > query.limit
        items = items[: query.limit]
        return Page(items, items[-1].id if more else None, total)

    def all(self, query: Query, most: int) -> list[Entry]:
        """Every entry matching `query` (no paging), newest first; InvalidParameterError past `most`."""
        where, args = self._where(query)
        with self._connection() as db:
            entries = self._entries(db, f"{where} ORDER BY id DESC LIMIT ?", [*args, most + 1])
        if len(entries) > most:
            raise InvalidParameterError("ids", f"at most {most} images at once; narrow the filter")
        return entries

    def many(self, ids: list[int]) -> tuple[list[Entry], list[int]]:
        """The entries of `ids` in that order, and the ids that are not there."""
        found: dict[int, Entry] = {}
        with self._connection() as db:
            for chunk in _chunks(list(dict.fromkeys(ids)), 500):
                marks = ", ".join("?" * len(chunk))
                found |= {e.id: e for e in self._entries(db, f"WHERE deleting = 0 AND id IN ({marks})", chunk)}
        unique = list(dict.fromkeys(ids))
        return [found[i] for i in unique if i in found], [i for i in unique if i not in found]

    def path(self, entry: Entry) -> Path:
        return self.root / entry.file

    def init_path(self, sha256: str) -> Path:
        return self.root / "inits" / f"{sha256}.png"

    def thumbnail(self, entry: Entry) -> Path:
        """The entry's thumbnail (longest side THUMB_SIDE), made on first use and kept."""
        path = self._thumb_path(entry.id)
        if not path.exists():
            if not self.path(entry).is_file():
                raise NotFound(f"the file of image {entry.id} is missing from the library folder ({entry.file})")
            with Image.open(self.path(entry)) as image:
                image.thumbnail((THUMB_SIDE, THUMB_SIDE))
                thumb = image.convert("RGB")
            buffer = io.BytesIO()
            thumb.save(buffer, format=THUMB_FORMAT[0], quality=82)
            write_atomically(path, buffer.getvalue(), sync=False)  # a lost thumbnail is made again
        return path

    def _thumb_path(self, entry_id: int) -> Path:
        return self.root / "thumbs" / f"{entry_id}.{THUMB_FORMAT[1]}"

    def _where(self, query: Query) -> tuple[str, list]:
        clauses, args = ["deleting = 0"], []
        words = re.findall(r"\w+", query.q)
        if words and self.fts:
            clauses.append("id IN (SELECT rowid FROM images_fts WHERE images_fts MATCH ?)")
            args.append(" AND ".join(f'"{word}"*' for word in words))
        for word in [] if self.fts else words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append(
                "(prompt LIKE ? ESCAPE '\\' OR effective_prompt LIKE ? ESCAPE '\\' OR note LIKE ? ESCAPE '\\')"
            )
            args += [pattern] * 3
        if query.starred is not None:
            clauses.append("starred = ?")
            args.append(int(query.starred))
        if query.collection is not None:
            clauses.append("id IN (SELECT image_id FROM image_collections WHERE collection_id = ?)")
            args.append(query.collection)
        if query.size is not None:
            clauses.append("width = ? AND height = ?")
            args += list(query.size)
        if query.since:
            clauses.append("created >= ?")
            args.append(query.since)
        if query.until:
            clauses.append("created < ?")
            args.append(query.until + "~")  # "~" sorts after "T...": every time of that day
        return "WHERE " + " AND ".join(clauses), args

    def _entries(self, db: sqlite3.Connection, tail: str, args: list) -> list[Entry]:
        rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM images {tail}", args).fetchall()
        if not rows:
            return []
        ids = [row[0] for row in rows]
        member: dict[int, list[Collection]] = {}
        for chunk in _chunks(ids, 500):
            marks = ", ".join("?" * len(chunk))
            for image_id, cid, name in db.execute(
                "SELECT ic.image_id, c.id, c.name FROM image_collections ic JOIN collections c "
                f"ON c.id = ic.collection_id WHERE ic.image_id IN ({marks}) ORDER BY c.name",
                chunk,
            ):
                member.setdefault(image_id, []).append(Collection(cid, name))
        return [_entry(row, tuple(member.get(row[0], ()))) for row in rows]

    # collections

    def collections(self) -> list[Collection]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT c.id, c.name, COUNT(i.id) FROM collections c "
                "LEFT JOIN image_collections ic ON ic.collection_id = c.id "
                "LEFT JOIN images i ON i.id = ic.image_id AND i.deleting = 0 "
                "GROUP BY c.id ORDER BY c.name COLLATE NOCASE"
            ).fetchall()
        return [Collection(*row) for row in rows]

    def collection(self, cid: int) -> Collection:
        found = [c for c in self.collections() if c.id == cid]
        if not found:
            raise NotFound(f"no collection {cid}")
        return found[0]

    def create_collection(self, name: object) -> Collection:
        name = _collection_name(name)
        try:
            with self._connection() as db, _transaction(db):
                cid = db.execute("INSERT INTO collections (name, created) VALUES (?, ?)", (name, utc_now())).lastrowid
        except sqlite3.IntegrityError:
            raise Conflict("name", f"a collection named {name!r} exists already") from None
        return self.collection(cid)

    def rename_collection(self, cid: int, name: object) -> Collection:
        name = _collection_name(name)
        try:
            with self._connection() as db, _transaction(db):
                if not db.execute("UPDATE collections SET name = ? WHERE id = ?", (name, cid)).rowcount:
                    raise NotFound(f"no collection {cid}")
        except sqlite3.IntegrityError:
            raise Conflict("name", f"a collection named {name!r} exists already") from None
        return self.collection(cid)

    def delete_collection(self, cid: int) -> None:
        """Delete a collection; its images stay in the library."""
        with self._connection() as db, _transaction(db):
            if not db.execute("DELETE FROM collections WHERE id = ?", (cid,)).rowcount:
                raise NotFound(f"no collection {cid}")

    def collect(self, cid: int, add: list[int] = (), remove: list[int] = ()) -> Collection:
        """Add images to a collection and remove others; every id must exist."""
        with self._connection() as db, _transaction(db):
            self._require_collections(db, [cid])
            for entry_id in [*add, *remove]:
                self._require(db, entry_id)
            db.executemany(
                "INSERT OR IGNORE INTO image_collections (collection_id, image_id) VALUES (?, ?)",
                [(cid, i) for i in add],
            )
            db.executemany(
                "DELETE FROM image_collections WHERE collection_id = ? AND image_id = ?", [(cid, i) for i in remove]
            )
        return self.collection(cid)

    def _require(self, db: sqlite3.Connection, entry_id: int) -> None:
        if not db.execute("SELECT 1 FROM images WHERE id = ? AND deleting = 0", (entry_id,)).fetchone():
            raise NotFound(f"no image {entry_id} in the library")

    def _require_collections(self, db: sqlite3.Connection, ids: Iterable[int]) -> None:
        for cid in ids:
            if not db.execute("SELECT 1 FROM collections WHERE id = ?", (cid,)).fetchone():
                raise NotFound(f"no collection {cid}")

    # connections

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection: sqlite3 objects are used by one thread at a time, then handed back."""
        with self._pool_lock:
            db = self._pool.pop() if self._pool else None
        if db is None:
            db = sqlite3.connect(
                self.root / DB_NAME, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: a crash keeps every committed row; power loss the last
        try:
            yield db
        finally:
            if db.in_transaction:
                db.rollback()
            with self._pool_lock:
                self._pool.append(db)

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, []
        for db in pool:
            db.close()


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.commit()


def _entry(row: tuple, collections: tuple[Collection, ...]) -> Entry:
    values = dict(zip(_COLUMNS, row, strict=True))
    record = ImageRecord(**{name: values[name] for name in _RECORD_COLUMNS})
    return Entry(
        id=values["id"],
        record=record,
        file=values["file"],
        sha256=values["sha256"],
        bytes=values["bytes"],
        starred=bool(values["starred"]),
        note=values["note"],
        collections=collections,
    )


def _file_name(record: ImageRecord) -> str:
    """images/YYYY-MM/YYYYMMDD-HHMMSS-<seed>-<prompt words>-<random>.png: sorts by time, says what it is."""
    stamp = record.created[:19].replace("-", "").replace(":", "").replace("T", "-")
    words = metadata.slug(record.prompt, 40) or "image"
    return f"images/{record.created[:7]}/{stamp}-{record.seed}-{words}-{secrets.token_hex(3)}.png"


def _statements(script: str) -> list[str]:
    """The statements of a script, whole: a trigger body's semicolons stay inside its statement."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s.strip(" ;\n")]


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}{f' ({err.filename})' if err.filename else ''}"
    return str(err) or type(err).__name__


def _text(value: object, field: str, most: int) -> str:
    if not isinstance(value, str):
        raise InvalidParameterError(field, f"must be text, got {value!r}")
    if len(value) > most:
        raise InvalidParameterError(field, f"must be at most {most} characters, got {len(value)}")
    return check_printable(value, field)


def _boolean(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise InvalidParameterError(field, f"must be true or false, got {value!r}")


def _number(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, str) and _digits(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameterError(field, f"must be a whole number from {low} to {high}, got {value!r}")
    return value


def _identifier(value: object, field: str) -> int:
    return _number(value, field, 1, 2**63 - 1)


def _digits(text: str) -> bool:
    """ASCII digits of a number that fits SQLite's integers ("²" and 5000-digit strings are not)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _size(value: object) -> tuple[int, int]:
    width, _, height = str(value).lower().partition("x")
    if not (_digits(width) and _digits(height)):
        raise InvalidParameterError("size", f"must be WIDTHxHEIGHT, e.g. 512x512, got {value!r}")
    try:
        return check_side(int(width), "width"), check_side(int(height), "height")
    except InvalidParameterError as err:
        raise InvalidParameterError("size", f"{err.field} {err.problem}") from None


def _date(value: object, field: str) -> str:
    if isinstance(value, str) and _DATE_RE.match(value):
        with contextlib.suppress(ValueError):
            return datetime.date.fromisoformat(value).isoformat()
    raise InvalidParameterError(field, f"must be a date YYYY-MM-DD, got {value!r}")


def _collection_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterError("name", f"must be a non-empty name, got {value!r}")
    name = " ".join(value.split())
    if len(name) > MAX_NAME_CHARS:
        raise InvalidParameterError("name", f"must be at most {MAX_NAME_CHARS} characters, got {len(name)}")
    return check_printable(name, "name")


def ids_field(value: object, field: str = "ids", most: int = 1000) -> list[int]:
    """A JSON list of 1..`most` image ids."""
    if not isinstance(value, list) or not 1 <= len(value) <= most:
        raise InvalidParameterError(field, f"must be a list of 1 to {most} image ids, got {value!r:.80}")
    return [_identifier(v, field) for v in value]


def note_field(value: object) -> str:
    return _text(value, "note", MAX_NOTE_CHARS)
