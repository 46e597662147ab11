"""The project's own found archive: every promised kind is made, readable and reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool

from ciel_node.crack import found
from ciel_node.crack.archive import read_archive_pictures, read_archive_sounds
from ciel_node.crack.found import SMALL, build_found_archive, main
from ciel_node.errors import CielError


@pytest.fixture(autouse=True)
def tools() -> None:
    for tool in ("espeak-ng", "sox", "ffmpeg"):
        require_tool(tool)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("espeak-ng", "sox", "ffmpeg"):
        require_tool(tool)
    return build_found_archive(tmp_path_factory.mktemp("found") / "archive", seed=0, **SMALL)


def test_small_archive_has_every_promised_kind(small: Path) -> None:
    suffixes = {(p.parent.name, p.suffix) for p in small.rglob("*") if p.is_file() and p.parent != small}
    assert suffixes == {
        ("voice", ".amr"), ("voice", ".3gp"), ("voice", ".wav"),
        ("noise", ".wav"), ("noise", ".ogg"),
        ("photos", ".jpg"),
    }
    assert (small / "voice" / "voice_000.amr").read_bytes().startswith(b"#!AMR\n")


def test_small_archive_reads_back_with_nothing_unreadable(small: Path) -> None:
    clips, sound_report = read_archive_sounds(small)
    assert sound_report.unreadable == []
    assert len(clips) == SMALL["voices"] + SMALL["noises"]
    for path, clip in zip(sound_report.files, clips, strict=True):
        assert 2.0 * 0.95 <= len(clip) / 16000 <= 8.0 * 1.05, path
        assert float(np.mean(clip**2)) > 1e-5, path

    pictures, picture_report = read_archive_pictures(small)
    assert picture_report.unreadable == []
    assert len(pictures) == SMALL["pictures"]
    assert all(p.size == (256, 256) for p in pictures)


def test_same_seed_gives_identical_pictures(tmp_path: Path, small: Path) -> None:
    again = build_found_archive(tmp_path / "again", seed=0, voices=0, noises=0, pictures=SMALL["pictures"])
    other = build_found_archive(tmp_path / "other", seed=1, voices=0, noises=0, pictures=SMALL["pictures"])
    for first in sorted((small / "photos").iterdir()):
        assert (again / "photos" / first.name).read_bytes() == first.read_bytes()
        assert (other / "photos" / first.name).read_bytes() != first.read_bytes()


def test_cli_rebuilds_its_own_folder_but_refuses_a_foreign_one(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    assert main([str(out), "--small", "--seed", "3"]) == 0
    first = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert main([str(out), "--small", "--seed", "3"]) == 0
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == first

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(CielError, match="not empty"):
        build_found_archive(tmp_path / "mine", pictures=1, voices=0, noises=0)
    assert main([str(tmp_path / "mine"), "--small"]) == 2
    assert (tmp_path / "mine" / "holiday.jpg").read_bytes() == b"precious"


def test_missing_tool_names_the_apt_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(found.shutil, "which", lambda name: None if name == "sox" else "/usr/bin/" + name)
    with pytest.raises(found.MissingToolError, match="apt-get install sox libsox-fmt-all"):
        build_found_archive(tmp_path / "x", voices=0, noises=0, pictures=1)
