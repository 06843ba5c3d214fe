"""The library's storage: persistence, search, deletion, retention, crash consistency, concurrent writers.

The crash and concurrency tests run tests/library_writer.py in subprocesses and kill them with SIGKILL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from sdturbo.errors import Conflict, InvalidParameterError, NotFound
from sdturbo.library import ImageRecord, Library, LibraryError, Query
from sdturbo.library.export import write_zip
from sdturbo.library.record import CHUNK
from sdturbo.library.store import MIGRATIONS
from tests.library_writer import png, record

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=[True, False], ids=["fts5", "like"])
def library(request, tmp_path):
    """A fresh library, once with SQLite FTS5 search and once with the LIKE fallback."""
    lib = Library(tmp_path / "library", fts=request.param).open()
    yield lib
    lib.close()


def add(lib: Library, number: int, prompt: str | None = None, **changes):
    rec = record("t", number)
    rec = dataclasses.replace(rec, **({"prompt": prompt, "effective_prompt": prompt} if prompt else {}), **changes)
    return lib.add(rec, png(rec))


def check_consistent(root: Path) -> set[int]:
    """Every row points at a complete file with its hash; every PNG has a row; no temporary file is left."""
    with sqlite3.connect(root / "library.db") as db:
        rows = db.execute("SELECT id, file, sha256, bytes, deleting FROM images").fetchall()
    for entry_id, name, sha256, size, deleting in rows:
        data = (root / name).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data), deleting) == (sha256, size, 0), entry_id
    files = {p.relative_to(root).as_posix() for p in root.glob("images/*/*.png")}
    assert files == {row[1] for row in rows}
    assert not list(root.glob("images/*/.*.tmp"))
    return {row[0] for row in rows}


def test_an_image_is_a_png_file_with_its_settings_and_a_row(library):
    entry = add(library, 7, "fox spirit in a lantern alley")
    path = library.path(entry)
    data = path.read_bytes()
    assert entry.sha256 == hashlib.sha256(data).hexdigest() and entry.bytes == len(data)
    assert path.parent.name == entry.record.created[:7] and "fox-spirit" in path.name
    with Image.open(path) as image:
        assert ImageRecord.from_json(image.info[CHUNK]) == entry.record
        assert image.info["parameters"] == entry.record.parameters
    assert library.get(entry.id) == entry


def test_entries_survive_closing_and_opening_again(tmp_path):
    lib = Library(tmp_path / "lib").open()
    first = add(lib, 1)
    cid = lib.create_collection("Heroes").id
    lib.update(first.id, starred=True, note="keep this", collections=[cid])
    lib.close()
    again = Library(tmp_path / "lib").open()
    kept = again.get(first.id)
    assert (kept.starred, kept.note, [c.name for c in kept.collections]) == (True, "keep this", ["Heroes"])
    assert add(again, 2).id > first.id


def test_search_finds_words_of_the_prompt_and_the_note(library):
    fox = add(library, 1, "fox spirit, lantern alley")
    add(library, 2, "dragon over the sea")
    noted = add(library, 3, "castle at dusk")
    library.update(noted.id, note="client liked the foxglove banners")
    assert [e.id for e in library.search(Query(q="lantern")).items] == [fox.id]
    assert [e.id for e in library.search(Query(q="fox LAN")).items] == [fox.id]  # prefixes, any case, all words
    assert {e.id for e in library.search(Query(q="fox")).items} == {fox.id, noted.id}  # the note's "foxglove"
    assert library.search(Query(q='"; DROP TABLE images; --')).total == 0  # quotes and SQL are only words


def test_filters_combine_and_pages_visit_every_image_once(library):
    made = [add(library, n, width=512, height=768 if n % 2 else 512) for n in range(1, 12)]
    library.update(made[0].id, starred=True)
    library.update(made[1].id, starred=True)
    tall = Query(size=(512, 768))
    assert library.search(tall).total == 6
    seen, cursor = [], None
    while True:
        page = library.search(dataclasses.replace(tall, limit=4, cursor=cursor))
        seen += [e.id for e in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted((e.id for e in made if e.record.height == 768), reverse=True)  # newest first
    assert [e.id for e in library.search(Query(starred=True)).items] == [made[1].id, made[0].id]
    today = made[0].record.created[:10]
    assert library.search(Query(since=today, until=today)).total == 11
    assert library.search(Query(until="2000-01-01")).total == 0


def test_query_values_are_checked_and_errors_name_the_field():
    assert Query.parse({"q": "fox", "starred": "true", "size": "512x768", "limit": "10", "cursor": "5"}) == Query(
        q="fox", starred=True, size=(512, 768), limit=10, cursor=5
    )
    for values, field in [
        ({"limit": "0"}, "limit"),
        ({"limit": 201}, "limit"),
        ({"starred": "maybe"}, "starred"),
        ({"size": "500x500"}, "size"),
        ({"size": "big"}, "size"),
        ({"since": "2026-13-01"}, "since"),
        ({"cursor": "abc"}, "cursor"),
        ({"collection": True}, "collection"),
        ({"sort": "old"}, "sort"),
    ]:
        with pytest.raises(InvalidParameterError) as caught:
            Query.parse(values)
        assert caught.value.field == field, values


def test_delete_removes_file_thumbnail_and_row(library):
    entry = add(library, 1)
    thumb = library.thumbnail(entry)
    assert thumb.exists()
    assert library.delete([entry.id, 999]) == ([entry.id], [999])
    assert not library.path(entry).exists() and not thumb.exists()
    with pytest.raises(NotFound, match=f"no image {entry.id}"):
        library.get(entry.id)
    check_consistent(library.root)


def test_thumbnails_are_small_and_made_once(library):
    rec = dataclasses.replace(record("t", 1), width=512, height=768)
    entry = library.add(rec, png(rec))
    thumb = library.thumbnail(entry)
    made = thumb.stat().st_mtime_ns
    with Image.open(thumb) as image:
        assert max(image.size) == 256 and image.size[1] > image.size[0]
    assert library.thumbnail(entry).stat().st_mtime_ns == made


def test_retention_never_deletes_starred_or_collected_images(tmp_path):
    lib = Library(tmp_path / "lib", retain=2).open()
    starred, collected = add(lib, 1), add(lib, 2)
    lib.update(starred.id, starred=True)
    lib.update(collected.id, collections=[lib.create_collection("refs").id])
    later = [add(lib, n) for n in range(3, 8)]
    kept = {e.id for e in lib.search(Query(limit=200)).items}
    assert kept == {starred.id, collected.id, later[-2].id, later[-1].id}
    check_consistent(lib.root)


def test_collections_group_images_and_names_are_unique_ignoring_case(library):
    a, b = add(library, 1), add(library, 2)
    heroes = library.create_collection("  Heroes  ")
    assert heroes.name == "Heroes"
    with pytest.raises(Conflict, match="exists already"):
        library.create_collection("heroes")
    assert library.collect(heroes.id, add=[a.id, b.id]).count == 2
    assert library.collect(heroes.id, remove=[a.id]).count == 1
    assert [e.id for e in library.search(Query(collection=heroes.id)).items] == [b.id]
    villains = library.create_collection("Villains")
    with pytest.raises(Conflict):
        library.rename_collection(villains.id, "HEROES")
    assert library.rename_collection(villains.id, "Rivals").name == "Rivals"
    library.delete_collection(heroes.id)
    assert library.get(b.id).collections == ()  # the images stay, outside any collection
    with pytest.raises(NotFound):
        library.collect(heroes.id, add=[a.id])
    with pytest.raises(NotFound):
        library.update(a.id, collections=[heroes.id])
    for bad in ["", "   ", 5, "x" * 81]:
        with pytest.raises(InvalidParameterError):
            library.create_collection(bad)


def test_export_writes_the_pngs_and_a_manifest_that_matches_them(library):
    entries = [add(library, n) for n in (1, 2)]
    buffer = io.BytesIO()
    write_zip(library, entries, buffer)
    archive = zipfile.ZipFile(buffer)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["count"] == 2 and [i["id"] for i in manifest["images"]] == [e.id for e in entries]
    for item in manifest["images"]:
        assert hashlib.sha256(archive.read(item["file"])).hexdigest() == item["sha256"]
        assert item["seed"] in (1, 2) and item["parameters"].startswith(item["effective_prompt"])


def test_open_finishes_what_a_crash_interrupted(tmp_path):
    lib = Library(tmp_path / "lib").open()
    kept, doomed = add(lib, 1), add(lib, 2)
    folder = lib.path(kept).parent
    # a crash between the rename and the insert: a complete file without its row
    orphan_record = record("t", 3)
    (folder / "20261125-000000-3-orphan.png").write_bytes(png(orphan_record))
    # a crash in the middle of a write: temporary files, of a dead process and of a live one
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (folder / f".half.png.{dead.stdout.strip()}.1a2b3c4d.tmp").write_bytes(b"\x89PNG half")
    live = folder / f".writing.png.{os.getpid()}.5e6f7a8b.tmp"
    live.write_bytes(b"\x89PNG in progress")
    # a crash in the middle of a delete: the row is marked, its file still there
    with sqlite3.connect(lib.root / "library.db") as db:
        db.execute("UPDATE images SET deleting = 1 WHERE id = ?", (doomed.id,))
    # a file some other program put there: left alone
    (folder / "stranger.png").write_bytes(png(record("t", 4))[:0] or b"\x89PNG\r\n\x1a\n")
    lib.close()
    done = Library(tmp_path / "lib").recover()
    assert done == {"temporary": 1, "deleted": 1, "adopted": 1}
    reopened = Library(tmp_path / "lib").open()
    adopted = reopened.search(Query(q="number 3")).items
    assert [e.record for e in adopted] == [orphan_record]
    assert live.exists() and (folder / "stranger.png").exists()
    assert not lib.path(doomed).exists()
    assert {e.id for e in reopened.search().items} == {kept.id, adopted[0].id}


def test_schema_is_versioned_and_a_newer_one_is_refused(tmp_path):
    lib = Library(tmp_path / "lib").open()
    lib.close()
    with sqlite3.connect(tmp_path / "lib" / "library.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(LibraryError, match="newer than this program's"):
        Library(tmp_path / "lib").open()


def test_a_folder_that_cannot_be_made_is_a_clear_library_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(LibraryError, match=f"cannot open the library at {tmp_path / 'file' / 'lib'}"):
        Library(tmp_path / "file" / "lib").open()


def test_a_full_disk_leaves_no_row_and_no_partial_file(tmp_path, monkeypatch):
    lib = Library(tmp_path / "lib").open()

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sdturbo.library.store.os.fsync", full)
    with pytest.raises(LibraryError, match="No space left on device"):
        add(lib, 1)
    monkeypatch.undo()
    assert check_consistent(lib.root) == set()
    assert add(lib, 2).id


def run_writer(folder: Path, count: int, threads: int = 1, tag: str = "w", deletes: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.library_writer", str(folder), str(count), str(threads), tag]
        + ["deletes"] * deletes,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def promised(output: str) -> tuple[set[int], set[int]]:
    """The ids a writer reported kept for good, and those it reported deleted (or was deleting)."""
    said = [line.split() for line in output.splitlines()]
    kept = {int(w[1]) for w in said if w[0] == "kept" and w[3] == "to-keep"}
    return kept, {int(w[1]) for w in said if w[0] == "gone"}


def kill_loop(folder: Path, kills: int) -> None:
    """Kill a writer (adding, and deleting every third image) with SIGKILL at random moments; after
    each, the library is consistent on open, holds every image it was told was kept and none it was
    told was deleted."""
    rng = random.Random(1234)
    kept: set[int] = set()
    gone: set[int] = set()
    for _ in range(kills):
        writer = run_writer(folder, 1_000_000, threads=2, deletes=True)
        assert writer.stdout.readline() == "open\n"
        time.sleep(rng.uniform(0.0, 0.15))
        writer.send_signal(signal.SIGKILL)
        output, _ = writer.communicate()
        now_kept, now_gone = promised(output)
        kept, gone = kept | now_kept, gone | now_gone
        Library(folder).open().close()  # recovery
        present = check_consistent(folder)
        assert kept <= present and not gone & present  # an image it was deleting when killed may be either
    assert len(kept) > kills and gone  # the writer did get work done between kills


def test_kill_9_at_any_moment_loses_at_most_the_image_being_written(tmp_path):
    kill_loop(tmp_path / "lib", kills=4)


@pytest.mark.slow
def test_kill_9_loop_many_times(tmp_path):
    kill_loop(tmp_path / "lib", kills=60)


def test_concurrent_writer_processes_and_threads_lose_and_duplicate_nothing(tmp_path):
    folder = tmp_path / "lib"
    Library(folder).open().close()
    writers = [run_writer(folder, 15, threads=3, tag=f"p{n}") for n in range(3)]
    outputs = [w.communicate(timeout=120)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0]
    ids = [i for out in outputs for i in promised(out)[0]]
    assert len(ids) == len(set(ids)) == 3 * 3 * 15
    assert check_consistent(folder) == set(ids)
    lib = Library(folder).open()
    prompts = {e.record.prompt for e in lib.all(Query(), 1000)}
    assert len(prompts) == 135


def test_retention_checks_star_and_collections_when_it_marks(tmp_path):
    """An image starred after retention picked it, but before it was marked, stays."""
    from sdturbo.library.store import _UNPROTECTED

    lib = Library(tmp_path / "lib").open()
    picked = add(lib, 1)
    lib.update(picked.id, starred=True)  # the star lands between retention's SELECT and its mark
    assert lib._remove([picked.id], only=_UNPROTECTED) == []
    assert lib.get(picked.id).starred


def test_a_failing_retention_never_costs_the_new_image(tmp_path, monkeypatch):
    lib = Library(tmp_path / "lib", retain=1).open()

    def locked():
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(lib, "prune", locked)
    entry = add(lib, 1)
    assert lib.get(entry.id) == entry


def test_files_with_bad_records_are_left_alone_on_open(tmp_path):
    lib = Library(tmp_path / "lib").open()
    good = add(lib, 1)
    folder = lib.path(good).parent
    for number, change in enumerate([{"prompt": None}, {"seed": 2**64}, {"width": 100_000}, {"style": ["x"]}]):
        data = {"v": 1, **dataclasses.asdict(record("t", 10 + number)), **change}
        info = PngImagePlugin.PngInfo()
        info.add_text(CHUNK, json.dumps(data))
        Image.new("RGB", (8, 8)).save(folder / f"bad-{number}.png", pnginfo=info)
    lib.close()
    reopened = Library(tmp_path / "lib").open()
    assert [e.id for e in reopened.search().items] == [good.id]
    assert len(list(folder.glob("bad-*.png"))) == 4  # not ours to delete
