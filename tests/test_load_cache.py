"""The host's module load cache (``services/node/load_cache.js``): a memo of module resolution and a V8
code cache beside an install. Most run Node.js on small made-up packages: what is under test there is
the loader logic (same results as Node.js's own loading, stale entries never used), not a service. The
last ones start the real network host and check its second start is served from the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import network_host

from atproto_bdd.errors import InstallError
from atproto_bdd.services.node_host import HOST_SCRIPT
from atproto_bdd.services.node_runtime import resolve_node
from atproto_bdd.settings import Settings

LOAD_CACHE_JS = HOST_SCRIPT.parent / "load_cache.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js on PATH")

# Loads the entry package with or without the cache and prints what it exported and the cache's counts.
DRIVER = """
const path = require('node:path')
const [root, file, useCache] = process.argv.slice(1) // node -e: no script path
const esm = process.env.ESM === '1' // memoize ES module resolution too
const cache = useCache === '1' ? require(process.env.LOAD_CACHE_JS).installLoadCache(root, file, { esm }) : null
const req = require('node:module').createRequire(path.join(root, 'noop.js'))
let result
try {
  result = req('app')
} catch (err) {
  result = { error: err.name + ': ' + err.message.split('\\n')[0] }
}
Promise.resolve(result.later).then((later) => {
  if (later !== undefined) result = { ...result, later }
  const saved = cache ? cache.save() : false
  console.log(JSON.stringify({ result, stats: cache && cache.stats, saved }))
})
"""


def write_packages(root: Path) -> None:
    """An ``app`` package using what CommonJS modules use: relative and package requires, ``exports``
    maps, ``require.resolve``, ``__dirname``, ``this``, JSON and a dynamic ``import()`` of an ES module."""
    files = {
        "app/package.json": {"name": "app", "main": "lib/index.js"},
        "app/lib/index.js": (
            "const helper = require('./helper')\n"
            "const dep = require('dep')\n"
            "const sub = require('dep/sub')\n"
            "module.exports = {\n"
            "  helper: helper(), dep: dep.name, sub, data: require('./data.json').value,\n"
            "  thisIsExports: this === module.exports,\n"
            "  dir: require('node:path').basename(__dirname),\n"
            "  resolved: require('node:path').relative(__dirname, require.resolve('dep')),\n"
            "  later: import('esm-only').then((m) => m.default),\n"
            "  key: require('./key'),\n"
            "  paths: module.paths,\n"
            "}\n"
        ),
        # A method named import and a call of it are not import(): this module is cached.
        "app/lib/key.js": (
            "class Key {\n  static async import(jwk, opts) {\n    return jwk + opts\n  }\n}\n"
            "module.exports = { imported: typeof Key.import(1, 2).then }\n"
        ),
        "app/lib/helper.js": "module.exports = () => 'helped'\n",
        "app/lib/data.json": {"value": 42},
        "dep/package.json": {"name": "dep", "exports": {".": "./main.js", "./sub": "./sub/impl.js"}},
        "dep/main.js": "exports.name = 'dep'\n",
        "dep/sub/impl.js": "module.exports = 'sub'\n",
        "esm-only/package.json": {"name": "esm-only", "type": "module", "exports": "./index.js"},
        "esm-only/index.js": "import mark from './mark.js'\nexport default 'esm' + mark\n",
        "esm-only/mark.js": "export default '!'\n",
    }
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content) if isinstance(content, dict) else content)


def load(root: Path, cache_file: Path, use_cache: bool = True, *, node: str | None = None, esm: bool = False) -> dict:
    """Run the driver in a fresh Node.js process (``node``, default the one on PATH) and return what it printed.

    ``esm``: install the cache as for an install of ES modules.
    """
    node = node or NODE
    assert node is not None
    out = subprocess.run(
        [node, "-e", DRIVER, str(root), str(cache_file), "1" if use_cache else "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"LOAD_CACHE_JS": str(LOAD_CACHE_JS), "PATH": "/usr/bin:/bin", "ESM": "1" if esm else "0"},
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "node_modules"
    write_packages(root)
    return root, tmp_path / "load-cache" / "cache.bin"


def test_same_result_as_node_and_second_run_hits(project: tuple[Path, Path]) -> None:
    root, cache_file = project
    plain = load(root, cache_file, use_cache=False)["result"]
    assert plain["helper"] == "helped" and plain["later"] == "esm!" and plain["thisIsExports"] is True
    assert plain["key"] == {"imported": "function"}

    first = load(root, cache_file)
    assert first["result"] == plain
    assert first["saved"] is True and cache_file.exists()
    assert first["stats"]["codeMisses"] == 4 and first["stats"]["resolveMisses"] >= 4
    # index.js calls import(): left to Node.js, whose script keeps its loader (see load_cache.js)
    assert first["stats"]["dynamicImport"] == 1
    assert first["stats"]["esmMisses"] == 0  # a CommonJS install: ES module resolution is left alone

    second = load(root, cache_file)
    assert second["result"] == plain
    stats = second["stats"]
    assert stats["resolveMisses"] == 0 and stats["codeMisses"] == 0 and stats["codeRejected"] == 0, stats
    assert stats["codeHits"] == first["stats"]["codeMisses"]
    # every module the cache compiled was read from the cache file, none from its own file
    assert first["stats"]["sourceHits"] == 0 and stats["sourceHits"] == stats["codeHits"]
    assert second["saved"] is False  # nothing new: the file is not rewritten


@pytest.fixture(scope="module")
def node_with_hooks() -> str:
    """A Node.js with module.registerHooks (22.15+): the managed Node.js 22 if the one on PATH is older."""
    try:
        node = resolve_node(Settings.load().cache_dir, min_major=22).path
    except InstallError as exc:
        pytest.skip(f"no Node.js 22 here: {exc}")
    hooks = subprocess.run([node, "-p", "typeof require('node:module').registerHooks"], capture_output=True, text=True)
    if hooks.stdout.strip() != "function":
        pytest.skip(f"{node} has no module.registerHooks")
    return node


def test_es_module_resolution_is_memoized_for_an_install_of_es_modules(
    project: tuple[Path, Path], node_with_hooks: str
) -> None:
    root, cache_file = project
    plain = load(root, cache_file, use_cache=False, node=node_with_hooks)["result"]
    assert plain["later"] == "esm!"  # esm-only imports ./mark.js: a resolution made inside the install
    first = load(root, cache_file, node=node_with_hooks, esm=True)
    assert first["result"] == plain and first["saved"] is True
    asked = first["stats"]["esmMisses"] + first["stats"]["esmHits"]  # a resolution asked twice hits the second time
    assert first["stats"]["esmMisses"] >= 2, first["stats"]
    second = load(root, cache_file, node=node_with_hooks, esm=True)
    assert second["result"] == plain
    assert second["stats"]["esmMisses"] == 0 and second["stats"]["esmHits"] == asked, second["stats"]
    assert second["saved"] is False


def test_edited_module_of_same_length_is_compiled_afresh(project: tuple[Path, Path]) -> None:
    # V8 would accept the old entry (it checks the length only): the checksum must catch it.
    root, cache_file = project
    load(root, cache_file)
    helper = root / "app/lib/helper.js"
    helper.write_text(helper.read_text().replace("helped", "HELPED"))
    again = load(root, cache_file)
    assert again["result"]["helper"] == "HELPED"
    assert again["stats"]["codeStale"] == 1 and again["saved"] is True
    # the edited file no longer has the size and time kept with its old source: it was read, not the copy
    assert again["stats"]["sourceHits"] == again["stats"]["codeHits"] == 3
    later = load(root, cache_file)["stats"]
    assert later["codeStale"] == 0 and later["sourceHits"] == 4


def test_touched_module_is_read_from_its_file_and_still_uses_its_code_entry(project: tuple[Path, Path]) -> None:
    # A new modification time alone: the file is read again, its checksum matches, the code entry serves.
    root, cache_file = project
    load(root, cache_file)
    helper = root / "app/lib/helper.js"
    stat = helper.stat()
    os.utime(helper, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    again = load(root, cache_file)
    stats = again["stats"]
    assert stats["codeHits"] == 4 and stats["codeStale"] == 0, stats
    assert stats["sourceHits"] == 3 and stats["sourceStale"] == 1 and again["saved"] is True, stats
    assert load(root, cache_file)["stats"]["sourceHits"] == 4  # the new time was kept


@pytest.mark.parametrize("damage", [b"", b"\xff\xff\xff\x7f{", b"\x05\x00\x00\x00{bad}"])
def test_damaged_cache_file_is_ignored_and_replaced(project: tuple[Path, Path], damage: bytes) -> None:
    root, cache_file = project
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(damage)
    first = load(root, cache_file)
    assert first["result"]["helper"] == "helped" and first["saved"] is True
    assert load(root, cache_file)["stats"]["codeMisses"] == 0


def test_cache_of_another_install_is_not_used(project: tuple[Path, Path], tmp_path: Path) -> None:
    root, cache_file = project
    first = load(root, cache_file)
    moved = tmp_path / "elsewhere" / "node_modules"
    shutil.copytree(root, moved)
    other = load(moved, cache_file)
    assert other["result"]["helper"] == "helped"
    assert other["stats"]["codeHits"] == 0
    assert other["stats"]["resolveMisses"] == first["stats"]["resolveMisses"]


def test_syntax_error_is_nodes_own(project: tuple[Path, Path]) -> None:
    root, cache_file = project
    (root / "app/lib/helper.js").write_text("module.exports = () => {\n")
    plain = load(root, cache_file, use_cache=False)["result"]
    cached = load(root, cache_file)
    assert cached["result"] == plain and plain["error"].startswith("SyntaxError")
    assert cached["stats"]["fallbacks"] == 1


def _start_host(tmp_path: Path, name: str) -> dict[str, int] | None:
    """Start a real network host on the installed services, return its load-cache counts, stop it."""
    host = network_host(tmp_path / name)
    try:
        host.start(timeout=120)
        return host.load_cache_stats
    finally:
        host.close()


def test_real_host_second_start_is_served_from_the_cache(tmp_path: Path) -> None:
    _start_host(tmp_path, "first")  # learns what is missing, if anything, and saves it
    stats = _start_host(tmp_path, "second")
    assert stats is not None
    assert stats["resolveMisses"] == 0 and stats["codeMisses"] == 0 and stats["codeRejected"] == 0, stats
    assert stats["codeHits"] > 500 and stats["resolveHits"] > 1000, stats
    assert stats["sourceHits"] == stats["codeHits"], stats  # one read of the cache file, not one per module


def test_real_host_without_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATPROTO_BDD_LOAD_CACHE", "0")
    assert _start_host(tmp_path, "off") is None


def test_root_reached_through_a_symlink_is_cached(project: tuple[Path, Path], tmp_path: Path) -> None:
    # Node.js names modules by their real path; a cache directory behind a symlink must still be served.
    root, cache_file = project
    link = tmp_path / "linked_modules"
    link.symlink_to(root)
    load(link, cache_file)
    assert load(link, cache_file)["stats"]["codeHits"] == 4
