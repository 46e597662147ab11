"""Checkpoint files: round trips, and every bad file gets one clear error with nothing executed."""

from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
import torch
from conftest import TINY_AUDIO, TINY_IMAGE
from nodes import save_resealed

from ciel_node.errors import CheckpointError
from ciel_node.models.audio_vae import SpectralVAE
from ciel_node.models.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from ciel_node.models.image_gan import Generator, init_weights


def test_audio_vae_round_trip(tmp_path: Path) -> None:
    model = SpectralVAE(TINY_AUDIO)
    model.bin_mean.normal_()
    model.save(tmp_path / "a.pt", {"steps": 7})
    loaded, prov = SpectralVAE.from_checkpoint(tmp_path / "a.pt")
    assert prov == {"steps": 7}
    assert loaded.config == TINY_AUDIO and not loaded.training
    z = torch.randn(5, TINY_AUDIO.latent)
    assert torch.equal(loaded.decode(z), model.decode(z))
    frames = torch.randn(3, TINY_AUDIO.bins)
    recon, mu, logvar = loaded(frames)
    assert recon.shape == (3, TINY_AUDIO.bins) and mu.shape == (3, TINY_AUDIO.latent)


def test_image_gan_round_trip(tmp_path: Path) -> None:
    gen = Generator(TINY_IMAGE)
    gen.apply(init_weights)
    gen.eval()
    gen.save(tmp_path / "g.pt", {"steps": 1})
    loaded, _ = Generator.from_checkpoint(tmp_path / "g.pt")
    z = torch.randn(2, TINY_IMAGE.latent)
    out = loaded(z)
    assert out.shape == (2, 3, TINY_IMAGE.size, TINY_IMAGE.size)
    assert torch.equal(out, gen(z))


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (subprocess.call, ([sys.executable, "-c", f"open({str(self.marker)!r}, 'w').write('pwned')"],))


def test_tampered_checkpoint_is_refused_unexecuted(tmp_path: Path) -> None:
    def evil_file(marker: Path, path: Path) -> Path:
        payload = {"format": FORMAT, "version": 1, "kind": "audio_vae", "config": {}, "weights": {}, "provenance": {}}
        payload["evil"] = _Evil(marker)
        torch.save(payload, path)
        return path

    # Sanity: such a file really runs code when loaded the unsafe way.
    canary = tmp_path / "canary"
    torch.load(evil_file(canary, tmp_path / "canary.pt"), weights_only=False)
    assert canary.read_text() == "pwned"
    marker = tmp_path / "pwned"
    path = evil_file(marker, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused unexecuted"):
        SpectralVAE.from_checkpoint(path)
    assert not marker.exists()


def test_plain_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "old.pt"
    path.write_bytes(pickle.dumps(_Evil(marker)))
    with pytest.raises(CheckpointError):
        SpectralVAE.from_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 10, 500])
def test_corrupt_checkpoint(tmp_path: Path, cut: int) -> None:
    good = tmp_path / "good.pt"
    SpectralVAE(TINY_AUDIO).save(good, {})
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good.read_bytes()[:cut])
    with pytest.raises(CheckpointError, match="corrupt"):
        SpectralVAE.from_checkpoint(bad)


def test_wrong_kind_missing_and_foreign(tmp_path: Path) -> None:
    gen = Generator(TINY_IMAGE)
    gen.save(tmp_path / "g.pt", {})
    with pytest.raises(CheckpointError, match="'image_gan' model where a 'audio_vae'"):
        SpectralVAE.from_checkpoint(tmp_path / "g.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        SpectralVAE.from_checkpoint(tmp_path / "nope.pt")
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a ciel-node checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt", "audio_vae")


def test_version_and_shape_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "a.pt"
    SpectralVAE(TINY_AUDIO).save(path, {})
    payload = torch.load(path, weights_only=True)
    payload["version"] = 99
    save_resealed(payload, path)
    with pytest.raises(CheckpointError, match="format version 99"):
        SpectralVAE.from_checkpoint(path)
    payload["version"] = 1
    payload["config"]["latent"] = 12  # weights are for latent 8
    save_resealed(payload, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        SpectralVAE.from_checkpoint(path)


# --- hostile and damaged files (issue 11): one CheckpointError naming the value, never a crash ------

ROOT = Path(__file__).resolve().parents[1]


def _edited(tmp_path: Path, model: str, edit) -> Path:  # type: ignore[no-untyped-def]
    """A real checkpoint of the tiny model, re-saved after `edit(payload)`."""
    net = SpectralVAE(TINY_AUDIO) if model == "audio" else Generator(TINY_IMAGE)
    path = tmp_path / f"{model}.pt"
    net.save(path, {})
    payload = torch.load(path, weights_only=True)
    edit(payload)
    save_resealed(payload, path)
    return path


def _load(model: str, path: Path) -> object:
    return (SpectralVAE if model == "audio" else Generator).from_checkpoint(path)


@pytest.mark.parametrize(
    ("model", "key", "value", "shown"),
    [
        ("audio", "hidden", ["a"], "hidden=['a']"),
        ("audio", "hidden", [10**12], "hidden=[1000000000000]"),
        ("audio", "hidden", [-5], "hidden=[-5]"),
        ("audio", "hidden", [], "hidden=[]"),
        ("audio", "hidden", 512, "hidden=512"),
        ("audio", "hidden", [8192] * 8, "floats, over the 50,000,000"),
        ("audio", "n_fft", 2**40, "n_fft=1099511627776"),
        ("audio", "hidden", [1] * 100_000, "hidden=[1, 1, 1, 1, 1"),
        ("audio", "n_fft", 1000, "n_fft=1000 must be a multiple of hop=64"),
        ("audio", "hop", 1, "hop=1"),
        ("audio", "hop", 256, "hop=256 must be an integer in 16..128"),  # = n_fft: frames would not overlap
        ("audio", "latent", "8", "latent='8'"),
        ("audio", "latent", True, "latent=True"),
        ("audio", "sample_rate", 9000, "sample_rate=9000"),
        ("audio", "sample_rate", 16000.0, "sample_rate=16000.0"),
        ("image", "size", 2**40, "size=1099511627776"),
        ("image", "size", 48, "size=48"),
        ("image", "width", 10**9, "width=1000000000"),
        ("image", "width", 1024, "floats, over the 50,000,000"),
        ("image", "latent", -1, "latent=-1"),
        ("image", "latent", None, "latent=None"),
    ],
)
def test_unusable_config_is_one_error_naming_key_and_value(
    tmp_path: Path, model: str, key: str, value: object, shown: str
) -> None:
    def edit(payload: dict) -> None:  # type: ignore[type-arg]
        payload["config"][key] = value

    path = _edited(tmp_path, model, edit)
    with pytest.raises(CheckpointError) as info:
        _load(model, path)
    message = str(info.value)
    assert f"checkpoint {path} has an unusable config: " in message and shown in message
    assert message.endswith("rebuild it with `ciel-node crack`") and "\n" not in message and len(message) < 400


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize(("model", "name"), [("audio", "decoder.0.weight"), ("image", "net.1.running_var")])
def test_non_finite_weights_are_refused(tmp_path: Path, model: str, name: str, bad: float) -> None:
    def edit(payload: dict) -> None:  # type: ignore[type-arg]
        payload["weights"][name].view(-1)[3] = bad

    path = _edited(tmp_path, model, edit)
    with pytest.raises(CheckpointError, match=rf"1 NaN/inf value\(s\) in '{name}'.*silence"):
        _load(model, path)


def _data_offset(blob: bytes, info: zipfile.ZipInfo) -> int:
    # torch pads each local header's extra field so tensors are aligned: read the local lengths.
    name_len, extra_len = struct.unpack("<HH", blob[info.header_offset + 26 : info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len


def _flipped(good: Path, out: Path, pos: int, bit: int = 0x10) -> Path:
    blob = bytearray(good.read_bytes())
    blob[pos] ^= bit
    out.write_bytes(bytes(blob))
    return out


def test_one_flipped_byte_anywhere_is_refused(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    model = SpectralVAE(TINY_AUDIO)
    model.save(good, {})
    blob = good.read_bytes()
    entries = zipfile.ZipFile(good).infolist()
    tensor = max((e for e in entries if "/data/" in e.filename), key=lambda e: e.file_size)
    pickled = next(e for e in entries if e.filename.endswith("/data.pkl"))
    # A bit flipped inside a weight (the payload torch.load reads without checking any CRC).
    bad = _flipped(good, tmp_path / "bad.pt", _data_offset(blob, tensor) + tensor.file_size // 2)
    with pytest.raises(CheckpointError, match=rf"corrupt: '{tensor.filename}' fails its CRC check"):
        SpectralVAE.from_checkpoint(bad)
    # ... inside the pickled structure (an integer in it would change a shape or a config value).
    bad = _flipped(good, tmp_path / "bad.pt", _data_offset(blob, pickled) + pickled.file_size - 10, 0x01)
    with pytest.raises(CheckpointError, match="fails its CRC check"):
        SpectralVAE.from_checkpoint(bad)
    # ... in the central directory's MS-DOS attributes: torch's reader would then see a folder and
    # return memory it never read, with every CRC still matching.
    record = blob.rfind(b"PK\x01\x02", 0, blob.rfind(tensor.filename.encode()))
    bad = _flipped(good, tmp_path / "bad.pt", record + 38)
    with pytest.raises(CheckpointError, match="marked as a folder"):
        SpectralVAE.from_checkpoint(bad)
    # ... inside a weight with its CRC mended (an editor who knows zip): the seal no longer matches.
    bad = _flipped(good, tmp_path / "bad.pt", _data_offset(blob, tensor) + tensor.file_size // 2)
    _mend_crc(bad, tensor.filename)
    with pytest.raises(CheckpointError, match="altered after it was written: its content no longer matches its seal"):
        SpectralVAE.from_checkpoint(bad)
    # A sweep over the whole file: every flip is refused with one clear line, including those in bytes the net is
    # not built from (a timestamp, alignment padding, the zip's comment): the file is not what was written.
    for pos in range(7, len(blob), 211):
        with pytest.raises(CheckpointError) as info:
            SpectralVAE.from_checkpoint(_flipped(good, tmp_path / "bad.pt", pos, 1 << pos % 8))
        assert "\n" not in str(info.value)


def test_every_byte_of_a_checkpoint_is_sealed(tmp_path: Path) -> None:
    # A checkpoint small enough to flip each of its bytes in turn (load_checkpoint does not build the net).
    good = tmp_path / "small.pt"
    save_checkpoint(good, "audio_vae", {"latent": 2}, {"w": torch.arange(6, dtype=torch.float32)}, {"steps": 1})
    assert load_checkpoint(good, "audio_vae")["weights"]["w"].tolist() == [0, 1, 2, 3, 4, 5]
    blob = good.read_bytes()
    accepted = []
    for pos in range(len(blob)):
        try:
            load_checkpoint(_flipped(good, tmp_path / "bad.pt", pos, 0xFF), "audio_vae")
        except CheckpointError:
            continue
        accepted.append(pos)
    assert accepted == [], f"{len(accepted)} of {len(blob)} flipped bytes accepted, at {accepted[:10]}"


def test_an_unsealed_checkpoint_is_refused_until_sealed(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    SpectralVAE(TINY_AUDIO).save(path, {"steps": 3})
    payload = torch.load(path, weights_only=True)
    del payload["seal"]  # as every checkpoint was before seals
    buf = io.BytesIO()
    torch.save(payload, buf)
    path.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match=f"carries no seal .* seal it with `ciel-node seal {path}`"):
        SpectralVAE.from_checkpoint(path)
    # `ciel-node seal` checks it as a load would (a broken CRC is refused, the file left as it was) ...
    broken = _flipped(path, tmp_path / "broken.pt", len(buf.getvalue()) // 2)
    run = subprocess.run([sys.executable, "-m", "ciel_node", "seal", str(broken)], capture_output=True, text=True)
    assert run.returncode == 2 and "fails its CRC check" in run.stderr, run.stderr
    assert broken.read_bytes() != path.read_bytes() and len(broken.read_bytes()) == len(buf.getvalue())
    # ... and seals a sound one: then it loads, weights unchanged.
    run = subprocess.run([sys.executable, "-m", "ciel_node", "seal", str(path)], capture_output=True, text=True)
    assert run.returncode == 0 and "sealed, sha256" in run.stdout, run.stderr
    loaded, prov = SpectralVAE.from_checkpoint(path)
    assert prov["steps"] == 3
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in payload["weights"].items())


def _mend_crc(path: Path, name: str) -> None:
    """Rewrite the CRC-32 of entry `name` (local header and central directory) to match its altered bytes."""
    blob = bytearray(path.read_bytes())
    info = zipfile.ZipFile(io.BytesIO(bytes(blob))).getinfo(name)
    start = _data_offset(bytes(blob), info)
    crc = struct.pack("<I", zlib.crc32(blob[start:start + info.file_size]))
    blob[info.header_offset + 14:info.header_offset + 18] = crc
    central = bytes(blob).rfind(name.encode()) - 46  # the central directory's record: its name at offset 46
    assert blob[central:central + 4] == b"PK\x01\x02"
    blob[central + 16:central + 20] = crc
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "an MP3 sound"),
        (b"\xff\xfb\x90\x64\x00", "an MP3 sound"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "a RIFF (WAV/WebP) file"),
        (b"\x89PNG\r\n\x1a\n", "a PNG picture"),
        (b"hidden = [512]\n", "a text file"),
        (b"\x00\x01\x02\x03\xfe", "not a zip archive"),
    ],
)
def test_not_a_checkpoint_says_what_it_is(tmp_path: Path, head: bytes, what: str) -> None:
    path = tmp_path / "thing.pt"
    path.write_bytes(head + bytes(range(256)) * 4)
    with pytest.raises(CheckpointError) as info:
        SpectralVAE.from_checkpoint(path)
    assert str(info.value) == (
        f"{path} is not a ciel-node checkpoint ({what}); pass a .pt made by `ciel-node crack`"
    )


def test_a_zip_that_is_not_pytorch_and_a_compressed_one(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "doc.pt", "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(CheckpointError, match="not a ciel-node checkpoint \\(a zip archive without PyTorch data\\)"):
        SpectralVAE.from_checkpoint(tmp_path / "doc.pt")
    # Re-packed with deflate (torch.save never compresses; inflating could be a zip bomb).
    SpectralVAE(TINY_AUDIO).save(tmp_path / "a.pt", {})
    with zipfile.ZipFile(tmp_path / "a.pt") as src, zipfile.ZipFile(tmp_path / "z.pt", "w", zipfile.ZIP_DEFLATED) as z:
        for e in src.infolist():
            z.writestr(e.filename, src.read(e))
    with pytest.raises(CheckpointError, match="compressed entries"):
        SpectralVAE.from_checkpoint(tmp_path / "z.pt")


def test_shipped_checkpoints_pass_every_check() -> None:
    vae, _ = SpectralVAE.from_checkpoint(ROOT / "checkpoints" / "audio.pt")
    gen, _ = Generator.from_checkpoint(ROOT / "checkpoints" / "images.pt")
    assert vae.config.latent >= 8 and gen.config.latent >= 1


def test_a_fifo_passed_as_a_checkpoint_is_refused_unopened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.pt")  # opening it would wait for a writer forever
    with pytest.raises(CheckpointError, match="is not a regular file"):
        SpectralVAE.from_checkpoint(tmp_path / "pipe.pt")
