"""A process that writes images into a library as fast as it can: the crash and concurrency tests run it.

    python -m tests.library_writer DIR COUNT [THREADS] [TAG] [DELETES]

Prints "kept <id> <file> to-keep|to-delete" after each image's row is committed and, with
DELETES, deletes every third image it wrote ("to-delete") and prints "gone <id>" once that is
done (flushed at once), so a test that kills it knows which images it was promised.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
from PIL import Image

from sdturbo import metadata
from sdturbo.library import ImageRecord, Library
from sdturbo.library.record import utc_now

_print_lock = threading.Lock()


def record(tag: str, number: int) -> ImageRecord:
    return ImageRecord(
        created=utc_now(),
        prompt=f"anime fox {tag} number {number}",
        effective_prompt=f"anime fox {tag} number {number}, anime style",
        style="anime",
        seed=number,
        steps=1,
        width=256,
        height=256,
        model="writer",
        vae=None,
        elapsed_ms=1.0,
    )


def png(rec: ImageRecord) -> bytes:
    noise = np.random.default_rng(rec.seed).integers(0, 256, (rec.height, rec.width, 3), dtype=np.uint8)
    return metadata.png_bytes(Image.fromarray(noise), rec.parameters, compress_level=1, extra=rec.png_chunks())


def write(library: Library, tag: str, numbers: range, deletes: bool) -> None:
    for number in numbers:
        rec = record(tag, number)
        entry = library.add(rec, png(rec))
        doomed = deletes and number % 3 == 2
        say(f"kept {entry.id} {entry.file} {'to-delete' if doomed else 'to-keep'}")
        if doomed:
            library.delete([entry.id])
            say(f"gone {entry.id}")


def say(line: str) -> None:
    with _print_lock:
        print(line, flush=True)


def main(argv: list[str]) -> int:
    folder, count = argv[0], int(argv[1])
    threads = int(argv[2]) if len(argv) > 2 else 1
    tag = argv[3] if len(argv) > 3 else "w"
    deletes = len(argv) > 4 and argv[4] == "deletes"
    library = Library(folder).open()
    print("open", flush=True)
    workers = [
        threading.Thread(target=write, args=(library, f"{tag}t{t}", range(t * count, (t + 1) * count), deletes))
        for t in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
