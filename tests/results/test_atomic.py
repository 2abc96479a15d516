"""Atomic outputs and the saved-fit manifest, on plain files (nothing is fitted)."""

from __future__ import annotations

import json

import pytest

import bayescale as bs
from bayescale.results.atomic import (
    atomic_dir,
    check_target,
    discard_partial,
    old_path,
    partial_path,
    write_atomic,
)
from bayescale.results.manifest import verify_manifest, write_manifest


def test_a_folder_appears_whole_or_not_at_all(tmp_path) -> None:
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("half")
        assert tmp == partial_path(target) and not target.exists()
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("whole")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (target / "a.txt").read_text() == "whole"


def test_a_non_empty_folder_is_refused_or_replaced_whole(tmp_path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(bs.OutputError, match="exists and is not empty; choose a new folder"):
        with atomic_dir(target):
            pytest.fail("the block must not run")
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    (tmp_path / "empty").mkdir()
    with atomic_dir(tmp_path / "empty") as tmp:  # an empty folder is fine
        (tmp / "x").write_text("x")
    assert (tmp_path / "empty" / "x").is_file()


def test_files_and_folders_in_the_wrong_place_are_usage_errors(tmp_path) -> None:
    (tmp_path / "f").write_text("a file")
    with pytest.raises(bs.OutputError, match="is a file, not a folder"):
        check_target(tmp_path / "f")
    with pytest.raises(bs.OutputError, match="/f' is a file"):
        check_target(tmp_path / "f" / "sub")
    with pytest.raises(bs.OutputError, match="is a folder; give a file name"):
        write_atomic(tmp_path, "text")
    write_atomic(tmp_path / "f", "replaced")  # a file is replaced, atomically
    assert (tmp_path / "f").read_text() == "replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_discard_partial_removes_this_runs_leftovers_and_restores_a_replaced_folder(tmp_path):
    target = tmp_path / "out"
    partial_path(target).mkdir()
    old_path(target).mkdir()
    (old_path(target) / "kept.txt").write_text("the user's")
    discard_partial(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (target / "kept.txt").read_text() == "the user's"


def test_the_manifest_notices_every_change(tmp_path) -> None:
    for name, text in (("fit.json", "{}"), ("meta.json", "{}"), ("arrays.npz", "abc")):
        (tmp_path / name).write_text(text)
    write_manifest(tmp_path, 2)
    assert set(verify_manifest(tmp_path, 2)["files"]) == {"fit.json", "meta.json", "arrays.npz"}
    with pytest.raises(bs.DataError, match="format version 2; this bayescale reads format"):
        verify_manifest(tmp_path, 3)
    (tmp_path / "fit.json").write_text("{ }")
    with pytest.raises(bs.DataError, match="fit.json was changed after it was saved: it has 3"):
        verify_manifest(tmp_path, 2)
    (tmp_path / "fit.json").write_text("[]")  # same size, other bytes
    with pytest.raises(bs.DataError, match="its SHA-256 differs"):
        verify_manifest(tmp_path, 2)
    (tmp_path / "fit.json").write_text("{}")
    (tmp_path / "draws.npz").write_text("stale")
    with pytest.raises(bs.DataError, match="draws.npz is not part of the saved fit"):
        verify_manifest(tmp_path, 2)
    (tmp_path / "draws.npz").unlink()
    (tmp_path / "notes.txt").write_text("a user's notes are fine")
    verify_manifest(tmp_path, 2)
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert doc["kind"] == "bayescale saved fit" and doc["files"]["arrays.npz"]["bytes"] == 3
