"""The one atomic-write helper (``emopillars.files``): files and folders are replaced whole or not at all."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

import emopillars
from emopillars.files import atomic_write_text, atomic_writer, recover_folder, replace_folder


class Boom(Exception):
    pass


def test_atomic_writer_replaces_the_file_on_success_and_leaves_it_on_error(tmp_path):
    target = tmp_path / "model.gguf"
    target.write_bytes(b"old")
    with pytest.raises(Boom), atomic_writer(target) as out:
        out.write(b"half of the new")
        raise Boom
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["model.gguf"]
    with atomic_writer(target) as out:
        out.write(b"new")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["model.gguf"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # readable like any other output, not mkstemp's 0600
    atomic_write_text(tmp_path / "a.json", "{}")
    assert (tmp_path / "a.json").read_text() == "{}"


def test_replace_folder_swaps_in_a_complete_folder_or_nothing(tmp_path):
    target = tmp_path / "checkpoint"
    with replace_folder(target) as staging:  # no target yet
        (staging / "state.json").write_text("1")
    assert (target / "state.json").read_text() == "1"
    with pytest.raises(Boom), replace_folder(target) as staging:
        (staging / "state.json").write_text("2")
        raise Boom
    assert (target / "state.json").read_text() == "1"
    with replace_folder(target) as staging:
        (staging / "state.json").write_text("3")
    assert (target / "state.json").read_text() == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]  # no staging or old copy left


def test_a_swap_killed_between_its_renames_is_undone(tmp_path):
    target = tmp_path / "dataset"
    with replace_folder(target) as staging:
        (staging / "train.jsonl").write_text("old")
    # a kill after the old folder was moved aside, before the new one was renamed in
    target.rename(tmp_path / ".dataset.old")
    (tmp_path / ".dataset.partial").mkdir()
    recover_folder(target)
    assert (target / "train.jsonl").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]
    # the next swap also starts by recovering
    target.rename(tmp_path / ".dataset.old")
    with replace_folder(target) as staging:
        assert (target / "train.jsonl").read_text() == "old"
        (staging / "train.jsonl").write_text("new")
    assert (target / "train.jsonl").read_text() == "new"


# Renames outside emopillars/files.py that are not atomic writes: moving a damaged cache aside.
ALLOWED = {"llm/cache.py"}
PATTERN = re.compile(r"os\.replace\(|os\.rename\(|\.rename\(|mkstemp\(|mkdtemp\(|NamedTemporaryFile\(")


def test_no_other_atomic_write_helper_in_the_package():
    package = Path(emopillars.__file__).parent
    found = []
    for path in package.rglob("*.py"):
        name = path.relative_to(package).as_posix()
        if name == "files.py" or name in ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if PATTERN.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == [], "write through emopillars.files instead:\n" + "\n".join(found)
