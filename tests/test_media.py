"""Media store: atomic content-named files, manifest commit, retention, restart, disk full."""

from __future__ import annotations

import json
import os
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
    # Someone may have seen seq 4 (the torn line could be a whole line cut short later): never reuse it.
    assert again.publish(_files(9), {})["seq"] == 5
    assert _seqs(tmp_path) == [1, 2, 3, 5]


def _seqs(root: Path) -> list[int]:
    """The manifest's seqs; every line must be whole JSON (nothing glued, nothing torn)."""
    return [json.loads(line)["seq"] for line in (root / "manifest.jsonl").read_bytes().split(b"\n") if line]


def _kept_somewhere(root: Path, names: set[str]) -> set[str]:
    """The names missing from both the media folder and the quarantine."""
    present = {p.name for p in (root / "media").iterdir()}
    present |= {p.name for p in root.glob("quarantine/*/media/*")}
    return names - present


def _all_names(entries: list[dict]) -> set[str]:
    return {e[k] for e in entries for k in ("image", "sky", "audio", "wav")}


def test_a_manifest_cut_short_loses_no_media_and_never_reuses_a_seq(tmp_path: Path, caplog) -> None:
    """The issue's `head -c -60 manifest.jsonl`: the last piece's line is torn mid-name."""
    store = MediaStore(tmp_path)
    entries = [store.publish(_files(i), {"created_at": float(i)}) for i in range(4)]
    manifest = tmp_path / "manifest.jsonl"
    cut = manifest.read_bytes()[:-60]
    manifest.write_bytes(cut)
    again = MediaStore(tmp_path)
    assert [e["seq"] for e in again.recent(10)] == [3, 2, 1]
    assert _kept_somewhere(tmp_path, _all_names(entries)) == set()  # piece 4's files: quarantined, not deleted
    remnant = list(tmp_path.glob("quarantine/*/manifest.jsonl"))
    assert [p.read_bytes() for p in remnant] == [cut]  # the damaged manifest, kept as it was found
    assert "damaged" in caplog.text and "seq continues at 5" in caplog.text
    assert _seqs(tmp_path) == [1, 2, 3]  # the torn tail is gone before anything is appended
    new = again.publish(_files(9), {"created_at": 9.0})
    assert new["seq"] == 5 and _seqs(tmp_path) == [1, 2, 3, 5]
    caplog.clear()
    third = MediaStore(tmp_path)  # a clean restart: no new damage, nothing moved, nothing deleted
    assert [e["seq"] for e in third.recent(10)] == [5, 3, 2, 1] and "damaged" not in caplog.text
    assert _kept_somewhere(tmp_path, _all_names([*entries, new])) == set()
    assert third.publish(_files(10), {})["seq"] == 6


@pytest.mark.parametrize("content", [
    b"",  # emptied (a filesystem that lost the file's blocks)
    b"\0" * 700,  # a block of zeros after a power cut
    b"\x8b\x13garbage, not json\n" * 3,
    b"null\n[1,2]\n5\n\"x\"\n",
    b'{"seq":1e400}\n',  # +inf: int() of it raised OverflowError and the node exited at every start
    b'{"seq":' + b"9" * 5000 + b"}\n",  # more digits than Python converts
    b'{"seq":-3,"image":"a.png"}\n{"seq":true}\n',
    b"[" * 100_000 + b"\n",  # nested deeper than the parser's recursion limit
])
def test_a_damaged_manifest_deletes_nothing_and_seq_goes_on(tmp_path: Path, content: bytes) -> None:
    store = MediaStore(tmp_path)
    entries = [store.publish(_files(i), {}) for i in range(5)]
    (tmp_path / "manifest.jsonl").write_bytes(content)
    again = MediaStore(tmp_path)
    assert again.latest() is None
    assert _kept_somewhere(tmp_path, _all_names(entries)) == set()
    assert again.publish(_files(9), {})["seq"] == 6  # seq.json keeps the floor
    assert MediaStore(tmp_path).latest()["seq"] == 6


def test_without_seq_json_the_media_give_the_floor(tmp_path: Path) -> None:
    """A state dir from before seq.json, its manifest emptied: one sound per piece bounds the seq from below."""
    store = MediaStore(tmp_path)
    entries = [store.publish(_files(i), {}) for i in range(5)]
    (tmp_path / "seq.json").unlink()
    (tmp_path / "manifest.jsonl").write_bytes(b"")
    again = MediaStore(tmp_path)
    assert _kept_somewhere(tmp_path, _all_names(entries)) == set()
    assert again.publish(_files(9), {})["seq"] == 6


def test_a_line_glued_to_a_torn_one_is_rescued(tmp_path: Path) -> None:
    """What older versions left behind: the next line appended straight after a torn tail."""
    store = MediaStore(tmp_path)
    entries = [store.publish(_files(i), {}) for i in range(3)]
    manifest = tmp_path / "manifest.jsonl"
    lines = manifest.read_bytes().splitlines(keepends=True)
    manifest.write_bytes(lines[0] + lines[1][:-40] + lines[2])
    again = MediaStore(tmp_path)
    assert [e["seq"] for e in again.recent(10)] == [3, 1]
    assert _kept_somewhere(tmp_path, _all_names(entries)) == set()


def test_a_name_outside_the_media_folder_is_never_touched(tmp_path: Path) -> None:
    outside = tmp_path / "precious.png"
    outside.write_bytes(b"not ours")
    store = MediaStore(tmp_path / "s", keep_pieces=1)
    store.publish(_files(0), {})
    line = json.loads((tmp_path / "s" / "manifest.jsonl").read_text())
    line["image"] = "../../precious.png"
    (tmp_path / "s" / "manifest.jsonl").write_text(json.dumps(line) + "\n")
    again = MediaStore(tmp_path / "s", keep_pieces=1)
    again.publish(_files(1), {})
    again.publish(_files(2), {})
    assert outside.read_bytes() == b"not ours"


def test_the_manifest_never_names_pruned_media(tmp_path: Path) -> None:
    """Retention takes a piece out of the manifest before its files off the disk (it lagged up to 2 x keep)."""
    store = MediaStore(tmp_path, keep_pieces=3)
    for i in range(12):
        store.publish(_files(i), {})
        lines = [json.loads(x) for x in (tmp_path / "manifest.jsonl").read_text().splitlines()]
        assert [e["seq"] for e in lines] == [e["seq"] for e in reversed(store.recent(10))]
        for e in lines:
            for k in ("image", "sky", "audio", "wav"):
                assert (tmp_path / "media" / e[k]).is_file(), (i, e["seq"], k)


def test_media_are_named_by_the_whole_sha256_and_old_names_are_kept(tmp_path: Path) -> None:
    import hashlib

    store = MediaStore(tmp_path)
    entry = store.publish(_files(1), {})
    assert entry["image"] == hashlib.sha256(_files(1)["image"][0]).hexdigest() + ".png"
    # A state dir written by a version that used 24 hex characters: its pieces stay.
    media = tmp_path / "media"
    old = {k: entry[k][:24] + entry[k][64:] for k in ("image", "sky", "audio", "wav")}
    for k, name in old.items():
        (media / entry[k]).rename(media / name)
    (tmp_path / "manifest.jsonl").write_text(json.dumps({**entry, **old}) + "\n")
    again = MediaStore(tmp_path)
    assert again.latest() == {**entry, **old}
    assert all((media / name).is_file() for name in old.values())


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


def test_a_piece_is_visible_only_once_its_line_is_committed(tmp_path: Path, monkeypatch) -> None:
    """A reader must never see a piece that a failed commit takes back: its seq would be given again."""
    store = MediaStore(tmp_path)
    for i in range(2):
        store.publish(_files(i), {})
    seen: list[int] = []

    def failing_append(self: MediaStore, line: bytes) -> None:
        seen.append(self.latest()["seq"])  # what the web surface shows while the line is being written
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(MediaStore, "_append", failing_append)
        with pytest.raises(OSError):
            store.publish(_files(5), {})
    assert seen == [2] and [e["seq"] for e in store.recent(5)] == [2, 1]
    assert store.publish(_files(5), {})["seq"] == 3 and [e["seq"] for e in store.recent(5)] == [3, 2, 1]


def test_no_room_to_rewrite_the_manifest_still_commits_and_deletes_nothing_it_names(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    """A full disk may hold a new piece's files but not a second copy of the manifest: the line is appended,
    and the dropped piece's files stay until a rewrite works (the manifest still names them)."""
    import ciel_node.publish.media as media

    store = MediaStore(tmp_path, keep_pieces=1)
    first = store.publish(_files(1), {})
    real = media.write_atomic

    def no_room_for_the_manifest(path: Path, data: bytes) -> None:
        if path.name == "manifest.jsonl":
            raise OSError(28, "No space left on device")
        real(path, data)

    with monkeypatch.context() as m:
        m.setattr(media, "write_atomic", no_room_for_the_manifest)
        second = store.publish(_files(2), {})
    assert [e["seq"] for e in store.recent(5)] == [2] and _seqs(tmp_path) == [1, 2]
    assert all((tmp_path / "media" / first[k]).is_file() for k in ("image", "sky", "audio", "wav"))
    third = store.publish(_files(3), {})  # room again: the rewrite drops both old lines, then their files
    assert _seqs(tmp_path) == [3]
    assert {p.name for p in (tmp_path / "media").iterdir()} == {third[k] for k in ("image", "sky", "audio", "wav")}
    assert second["seq"] == 2 and MediaStore(tmp_path, keep_pieces=1).latest() == third


def test_a_full_disk_frees_what_retention_dropped_before_the_next_piece(tiny_disk: Path) -> None:
    """The node filled its disk; restarted with a smaller --keep-pieces, it has no room to rewrite the manifest,
    so the dropped pieces' files stay. Once a little room is back (less than a piece), the next piece first
    finishes that rewrite and frees them, instead of failing on its own files forever."""
    store = MediaStore(tiny_disk, keep_pieces=100)
    for i in range(8):
        store.publish(_files(i, 20_000), {})
    ballast = tiny_disk / "ballast"
    with open(ballast, "wb", buffering=0) as f:  # fill the disk to the last block
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    store = MediaStore(tiny_disk, keep_pieces=2)  # no room for the rewrite: nothing it names is deleted
    assert len(_seqs(tiny_disk)) == 8 and len(list((tiny_disk / "media").iterdir())) == 32
    os.truncate(ballast, ballast.stat().st_size - 16 * 1024)  # room for a manifest, not for a piece
    assert store.publish(_files(9, 20_000), {})["seq"] == 9
    assert _seqs(tiny_disk) == [8, 9] and len(list((tiny_disk / "media").iterdir())) == 8
