"""index.xml (the ReaPack repository index) agrees with the ReaScripts' own headers, as
`reapack-index --check` would have it: one script package per @description file that is not
@noindex, its version and author from the headers, every @provides file listed and present,
and .reapack-index.conf keeping everything outside reaper_scripts/ out of the index."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "reaper_scripts"
INDEX = ROOT / "index.xml"
URL = re.compile(r"^https://github\.com/groundbass/groundbass/raw/(?P<commit>[0-9a-f]{40})/(?P<path>.+)$")


def header(path: Path) -> dict[str, str | list[str]]:
    """The metaheader tags at the top of a Lua file: `-- @tag value`, with indented
    continuation lines (`--   more`) collected as a list."""
    tags: dict[str, str | list[str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        if m := re.match(r"^-- @(\w+)\s*(.*)$", line):
            current = m.group(1)
            tags[current] = m.group(2).strip()
        elif current and (m := re.match(r"^--\s{2,}(\S.*)$", line)):
            value = tags[current]
            lines = value if isinstance(value, list) else [value] if value else []
            tags[current] = lines + [m.group(1)]
    return tags


def packages() -> list[ET.Element]:
    root = ET.parse(INDEX).getroot()
    assert root.tag == "index" and root.get("version") == "1" and root.get("name") == "groundbass"
    return [(cat.get("name"), pkg) for cat in root.findall("category") for pkg in cat.findall("reapack")]


def test_every_indexed_script_is_a_package_and_nothing_else():
    indexed = sorted(p.name for p in SCRIPTS.glob("*.lua") if "noindex" not in header(p))
    assert sorted(pkg.get("name") for _, pkg in packages()) == indexed


@pytest.mark.parametrize("category, pkg", packages(), ids=lambda v: v if isinstance(v, str) else v.get("name"))
def test_package_matches_its_lua_headers(category, pkg):
    assert category == "reaper_scripts" and pkg.get("type") == "script"
    main = SCRIPTS / pkg.get("name")
    tags = header(main)
    assert pkg.get("desc") == tags["description"]
    (version,) = pkg.findall("version")
    assert version.get("name") == tags["version"] and version.get("author") == tags["author"]
    assert version.findtext("changelog").splitlines() == tags["changelog"]
    assert pkg.find("metadata/link").text == tags["link"]

    provides = {}
    for line in tags["provides"]:
        m = re.match(r"^(?:\[(\w+)\]\s+)?(.+)$", line)
        provides[m.group(2)] = m.group(1)
    listed = {}
    for src in version.findall("source"):
        m = URL.match(src.text)
        assert m, src.text
        path = Path(unquote(urlparse(src.text).path).split(f"/raw/{m.group('commit')}/", 1)[1])
        assert path.parent.name == "reaper_scripts" and (ROOT / path).is_file(), path
        assert src.get("file", main.name) == path.name
        listed[path.name] = src.get("main")
    assert listed.pop(main.name) == "main"
    assert listed == {name: "main" if kind == "main" else None for name, kind in provides.items()}
    for name in provides:  # provided files are not packages of their own
        assert "noindex" in header(SCRIPTS / name), name
        if "version" in header(SCRIPTS / name):
            assert header(SCRIPTS / name)["version"] == tags["version"], name


def test_sources_are_the_released_files():
    """Every source URL points at the commit the version was released from; the files there
    must be what is in the tree now (a changed script needs a new version and index)."""
    root = ET.parse(INDEX).getroot()
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("no git checkout")
    for src in root.iter("source"):
        m = URL.match(src.text)
        path = unquote(m.group("path"))
        got = subprocess.run(["git", "-C", str(ROOT), "show", f"{m.group('commit')}:{path}"],
                             capture_output=True, timeout=30)
        if got.returncode != 0:
            pytest.skip(f"commit {m.group('commit')[:10]} is not in this clone")
        assert got.stdout == (ROOT / path).read_bytes(), f"{path} changed since {m.group('commit')[:10]}"


def test_reapack_index_conf_ignores_everything_outside_the_scripts():
    conf = (ROOT / ".reapack-index.conf").read_text().splitlines()
    ignored = {line.split(None, 1)[1] for line in conf if line.startswith("--ignore ")}
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, timeout=30)
    if listed.returncode != 0:
        pytest.skip("no git checkout")
    for path in listed.stdout.splitlines():
        if path.startswith("reaper_scripts/") and path.endswith(".lua") or path == "index.xml":
            continue
        assert any(path == i or path.startswith(i.rstrip("/") + "/") for i in ignored), path
