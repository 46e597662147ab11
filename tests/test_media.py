"""Media store: atomic content-named files, manifest commit, retention, restart, disk full."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from ciel_node.publish.media import MediaStore, content_name


def _files(i: int, size: int = 1000) -> dict[str, tuple[bytes, str]]:
    body = (f"piece {i} ".encode() * size)[:size]
    return {
        "image": (b"I" + body, ".png"), "sky": (b"S" + body, ".png"),
        "audio": (b"A" + body, ".mp3"), "wav": (b"W" + body, ".wav"),
    }


def test_publish_names_files_by_content_and_commits_a_line(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    entry = store.publish(_files(1), {"created_at": 1.0})
    assert entry["seq"] == 1 and store.latest() == entry
    for kind, (data, suffix) in _files(1).items():
        assert entry[kind] == content_name(data, suffix)
        assert (tmp_path / "media" / entry[kind]).read_bytes() == data
    lines = (tmp_path / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1]


def test_retention_by_count_and_bytes(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, keep_pieces=3, keep_bytes=10**9)
    for i in range(10):
        store.publish(_files(i), {})
    assert [e["seq"] for e in store.recent(10)] == [10, 9, 8]
    assert len(list((tmp_path / "media").iterdir())) == 12
    # Manifest is compacted, not grown forever.
    assert len((tmp_path / "manifest.jsonl").read_text().splitlines()) <= 6

    small = MediaStore(tmp_path / "b", keep_pieces=100, keep_bytes=9000)  # about two pieces of 4 x 1001 bytes
    for i in range(6):
        small.publish(_files(i), {})
    on_disk = sum(p.stat().st_size for p in (tmp_path / "b" / "media").iterdir())
    assert on_disk <= 9000 and small.total_bytes == on_disk
    assert [e["seq"] for e in small.recent(10)] == [6, 5]


def test_shared_content_is_kept_while_any_piece_names_it(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, keep_pieces=2)
    same_image = _files(0)["image"]
    for i in range(4):
        files = _files(i)
        files["image"] = same_image  # drift 0: the image never changes
        store.publish(files, {})
    assert (tmp_path / "media" / content_name(*same_image)).exists()


def test_restart_continues_seq_and_skips_a_torn_line(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    for i in range(3):
        store.publish(_files(i), {})
    with open(tmp_path / "manifest.jsonl", "ab") as f:
        f.write(b'{"seq": 4, "image": "trunc')  # a power cut mid-append
    (tmp_path / "media" / ".x.png.tmp-1-2").write_bytes(b"half")  # a temporary left by the crash
    again = MediaStore(tmp_path)
    assert again.latest() is not None and again.latest()["seq"] == 3
    assert not (tmp_path / "media" / ".x.png.tmp-1-2").exists()
    assert again.publish(_files(9), {})["seq"] == 4


def test_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, keep_pieces=50)
    stop = threading.Event()
    problems: list[str] = []
    size = 300_000

    def reader() -> None:
        media = tmp_path / "media"
        while not stop.is_set():
            latest = store.latest()
            if latest:
                for kind in ("image", "sky", "audio", "wav"):
                    try:
                        data = (media / latest[kind]).read_bytes()
                    except FileNotFoundError:
                        continue  # pruned between the two reads: fine, never partial
                    if len(data) != size + 1:
                        problems.append(f"{latest[kind]}: {len(data)} bytes")
            for p in media.iterdir():  # anything visible under a content name is complete
                if not p.name.startswith("."):
                    try:
                        n = p.stat().st_size
                    except FileNotFoundError:
                        continue
                    if n != size + 1:
                        problems.append(f"{p.name}: {n} bytes")

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(40):
            store.publish(_files(i, size), {})
    finally:
        stop.set()
        t.join()
    assert problems == []


def test_disk_full_keeps_the_last_complete_piece(tiny_disk: Path) -> None:
    store = MediaStore(tiny_disk, keep_pieces=100)
    first = store.publish(_files(1, 20_000), {})
    ballast = tiny_disk / "ballast"
    with open(ballast, "wb", buffering=0) as f:  # fill the disk to the last block
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    with pytest.raises(OSError):
        store.publish(_files(2, 20_000), {})
    assert store.latest() == first and store.last_seq == 1
    names = {p.name for p in (tiny_disk / "media").iterdir()}
    assert names == {first[k] for k in ("image", "sky", "audio", "wav")}  # nothing half-written left
    lines = (tiny_disk / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(x)["seq"] for x in lines] == [1]
    ballast.unlink()
    assert store.publish(_files(2, 20_000), {})["seq"] == 2  # space is back: the next try works
