"""The package's layers, checked from its imports: no circle, nothing imports upwards.

Every import counts, at module level, inside functions and under ``TYPE_CHECKING``
alike: an import that runs back up a layer is a circle waiting to happen and hides
which module a concern lives in. ``docs/design.md`` ("Module map") draws the same
layers; a new module takes the layer of its folder, a new folder needs a line here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mixupy_dask

ROOT = Path(mixupy_dask.__file__).parent

#: From the bottom up: what each unit (a subpackage, or a top-level module) holds.
#: A unit may import its own modules and those of lower layers, never a higher layer's
#: or another unit's of its own layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version"),  # exceptions and the version: imported by everything
    ("_core",),  # randomness, sampler, balancing, labels, dtypes, parameter rules
    ("_kernel",),  # column kinds, frames <-> rows, the mixing formula, exact times
    ("_frames",),  # dataframe engines: one adapter per library
    ("_dask",),  # dask inputs, the one exchange, clusters
    ("_rows", "_series"),  # the two semantics: a call, the in-memory and dask routes
    ("_io",),  # Parquet sources, sinks, the commit protocol, the out-of-core job
    ("_stream",),  # MixupStream: epochs of batches, windows, the torch dataset
    ("_accessors", "_datasets", "_oversampler"),  # public modules
    ("__init__", "cli"),  # the public surface and the command line
)
LAYER = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def unit_of(module: str) -> str:
    return module.split(".")[0]


def imports_of(path: Path, text: str | None = None) -> set[str]:
    """The package's modules that ``path`` (or ``text`` as if it were there) imports, as
    names relative to the package."""
    package = path.relative_to(ROOT).parent.parts
    found: set[str] = set()
    source = path.read_text() if text is None else text
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mixupy_dask."):
                    found.add(alias.name.removeprefix("mixupy_dask."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
            elif node.module and node.module.split(".")[0] == "mixupy_dask":
                base = []
                node = ast.ImportFrom(node.module.removeprefix("mixupy_dask"), node.names, 1)
            else:
                continue
            target = base + (node.module.strip(".").split(".") if node.module else [])
            for alias in node.names:
                # `from . import x` imports a module when there is one of that name.
                candidate = ROOT.joinpath(*target, alias.name)
                if candidate.with_suffix(".py").exists() or candidate.is_dir():
                    found.add(".".join([*target, alias.name]))
                elif target:
                    found.add(".".join(target))
                else:
                    found.add("__init__")
    return found


GRAPH = {module_name(p): imports_of(p) for p in sorted(ROOT.rglob("*.py"))}


def test_every_unit_has_a_layer():
    assert {unit_of(m) for m in GRAPH} <= set(LAYER), "a new folder needs a line in LAYERS"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_run_down(module):
    unit = unit_of(module)
    upward = [
        target
        for target in sorted(GRAPH[module])
        if unit_of(target) != unit and LAYER[unit_of(target)] >= LAYER[unit]
    ]
    assert not upward, f"{module} imports {upward}, which are not below its layer"


def test_no_circles():
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH.get(module, ())):
            if target == module or target not in GRAPH:
                continue
            if state.get(target) == 1:
                circle = [*path[path.index(target) :], target]
                pytest.fail(f"import circle: {' -> '.join(circle)}")
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


@pytest.mark.parametrize("unit", [u for u in LAYER if (ROOT / u).is_dir()])
def test_each_folder_says_what_it_holds(unit):
    doc = ast.get_docstring(ast.parse((ROOT / unit / "__init__.py").read_text()))
    assert doc, f"{unit}/__init__.py needs a docstring: what it holds, what it may import"


@pytest.mark.parametrize(
    "text",
    [
        "from .._io.job import plan\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .._io import job\n",
        "def f():\n    from mixupy_dask._io.job import plan\n",
    ],
)
def test_the_check_sees_an_upward_import(text):
    """The check itself: an import of a higher layer is found, however it is written."""
    found = imports_of(ROOT / "_core" / "probe.py", text)
    assert "_io.job" in found
    assert LAYER[unit_of("_io.job")] > LAYER["_core"]
