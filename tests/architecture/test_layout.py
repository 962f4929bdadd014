"""The house plan holds: imports point down the stages, never in a loop, and the core speaks no HTTP.

These read the source (every `import`, including those inside functions), so a late import cannot hide a loop.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYERS: list[list[str]] = [
    ["bot.cli"],
    ["bot.demo"],
    ["bot.daemon", "bot.worker"],
    ["bot.discord.gateway", "bot.discord.commands"],
    ["bot.alerts", "bot.watch", "bot.digest", "bot.schedule"],
    ["bot.ingest"],
    ["bot.analysis", "bot.sources"],
    ["bot.discord.connection", "bot.discord.sink", "bot.discord.access"],
    ["storage"],
    ["bot.ops", "bot.config"],
    ["bot.model"],
]
"""Top to bottom: a module may import its own layer's package and anything below it, never above."""

CORE_WITHOUT_HTTP = ["bot.ingest", "bot.analysis", "bot.digest", "bot.watch", "bot.alerts", "storage"]
HTTP_LIBRARIES = {"aiohttp", "requests", "httpx", "mastodon", "discord", "urllib3"}


def _modules() -> Iterator[tuple[str, Path]]:
    for top in ("bot", "storage"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def _imports(path: Path, module: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level] if path.name != "__init__.py" else module.split(".")
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                # `from package import submodule` depends on the submodule; `from module import name` on the module.
                names = [f"{node.module}.{alias.name}" for alias in node.names]
                submodules = [name for name in names if (ROOT / name.replace(".", "/")).with_suffix(".py").exists()
                              or (ROOT / name.replace(".", "/") / "__init__.py").exists()]
                found.update(submodules)
                if len(submodules) < len(names):
                    found.add(node.module)
    return found


MODULES = dict(_modules())
GRAPH = {name: {i for i in _imports(path, name) if i in MODULES and i != name} for name, path in MODULES.items()}


def _layer(module: str) -> int:
    best: tuple[int, int] | None = None  # (prefix length, layer): the most specific prefix decides
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if module == prefix or module.startswith(prefix + "."):
                candidate = (len(prefix), index)
                best = candidate if best is None or candidate[0] > best[0] else best
    if best is None:
        raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS in {__file__}")
    return best[1]


PACKAGES = {name for name, path in MODULES.items() if path.name == "__init__.py" and not GRAPH[name]}
"""Packages whose `__init__` imports nothing: namespaces, not modules with a layer of their own."""


def test_every_module_has_a_place_in_the_house_plan() -> None:
    for module in MODULES:
        if module not in PACKAGES:
            _layer(module)


def test_imports_only_point_down_the_stages() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module not in PACKAGES
        for target in targets
        if target not in PACKAGES and _layer(target) < _layer(module)
    ]
    assert upward == []


def test_no_module_imports_itself_through_a_loop() -> None:
    state: dict[str, int] = {}
    loops: list[str] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                loops.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert loops == []


def test_storage_knows_only_the_plain_model() -> None:
    assert {t for m, ts in GRAPH.items() if m.startswith("storage") for t in ts if t.startswith("bot")} <= {"bot.model"}


@pytest.mark.parametrize("package", CORE_WITHOUT_HTTP)
def test_the_core_speaks_no_http(package: str) -> None:
    speaking = {
        f"{name} imports {lib}"
        for name, path in MODULES.items()
        if name == package or name.startswith(package + ".")
        for lib in _imports(path, name)
        if lib.split(".")[0] in HTTP_LIBRARIES
    }
    assert speaking == set()
