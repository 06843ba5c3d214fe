"""The package layout: folders by concern, no import loops, the documented commands and imports still work."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sdturbo"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """Project modules `name` imports anywhere in its file (`from pkg import sub` counts as pkg.sub)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names}
            found |= (subs & MODULES.keys()) or {node.module}
    return {m for m in found if m in MODULES and m != name}


def test_no_import_loops():
    graph = {name: imports(name) for name in MODULES}
    for name in MODULES:  # a package's __init__ re-exports its modules: not a loop through the package
        graph[name] -= {m for m in graph[name] if name.startswith(m + ".") and MODULES[m].name == "__init__.py"}
    state: dict[str, str] = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                pytest.fail("import loop: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = "done"

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [])


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("sdturbo.studio", "flask"),
        ("sdturbo.batching", "flask"),
        ("sdturbo.domain", "flask"),
        ("sdturbo.engine", "flask"),
        ("sdturbo.library", "flask"),
        ("sdturbo.library", "torch"),
        ("sdturbo.web", "torch"),
        ("sdturbo.studio", "torch"),
        ("sdturbo.batching", "torch"),
    ],
)
def test_layers_keep_to_their_concern(layer, forbidden):
    """Web knows no torch, the core knows no Flask (read from the import statements of every module)."""
    for name, path in MODULES.items():
        if name == layer or name.startswith(layer + "."):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
            names = {a.name for n in top_level if isinstance(n, ast.Import) for a in n.names}
            names |= {n.module for n in top_level if isinstance(n, ast.ImportFrom) and n.module}
            assert not any(n == forbidden or n.startswith(forbidden + ".") for n in names), (name, forbidden)


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_documented_domain_commands_still_work(tmp_path):
    verdict = run("-m", "sdturbo.domain", "--embedding-model", "none", "a bar chart of sales")
    assert verdict.returncode == 0 and '"category": "document_or_data"' in verdict.stdout
    data = tmp_path / "two.tsv"
    data.write_text("label\tprompt\naccept\tanime fox\nreject\ta bar chart\n", encoding="utf-8")
    evaluated = run("-m", "sdturbo.domain", "--embedding-model", "none", "--eval", str(data))
    assert evaluated.returncode == 0 and "accuracy=1.000" in evaluated.stdout


@pytest.mark.slow  # a fresh interpreter importing torch: ~3 s of the default suite's 90 s budget
def test_public_imports_are_unchanged():
    code = (
        "from generate_image import SDTurboGenerator, GenerationResult, InvalidParameterError, ModelLoadError, main;"
        "from anime_usecase import generate_anime_assets, main;"
        "from app import create_app, main;"
        "from sdturbo.domain import DomainValidator, Verdict;"
        "from sdturbo.engine import Engine, GenerationRequest, GenerationResult;"
        "from sdturbo.studio import Studio, OutOfDomain, NotReady, Served"
    )
    done = run("-c", code)
    assert done.returncode == 0, done.stderr
