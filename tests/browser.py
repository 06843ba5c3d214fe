"""Debian's Chromium for the browser tests: where it is, its flags, and whether it can run here."""

import os
import shutil
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("SDTURBO_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts"))
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_missing() -> str | None:
    if not shutil.which(CHROMIUM):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
