"""The command line as a user meets it: real processes, one clear line and exit 2 on bad input."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from nodes import free_port, save_resealed, until_sync

from ciel_node.models.checkpoint import FORMAT


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ciel_node", *args], capture_output=True, text=True, timeout=timeout)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ciel-node: error: ")
    return lines[0]


def test_tampered_checkpoint_exit_2_nothing_executed(tmp_path: Path, tiny_checkpoints) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (subprocess.call, (["touch", str(marker)],))

    bad = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "version": 1, "kind": "audio_vae", "x": Evil()}, bad)
    proc = cli("run", "--state-dir", str(tmp_path / "s"), "--audio-checkpoint", str(bad),
               "--image-checkpoint", str(tiny_checkpoints[1]))
    assert "refused unexecuted" in _one_error_line(proc)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--interval", "0.1"], "interval=0.1 is out of range; give a value in 0.5..3600"),
        (["--volume-ceiling", "3"], "volume_ceiling=3 is out of range"),
        (["--seed", "-1"], "seed=-1 is out of range"),
        (["--drift", "nan"], "drift=nan is not a number"),
        (["--keep-pieces", "0"], "keep_pieces=0 must be >= 1"),
        (["--audio-checkpoint", "nowhere.pt"], "checkpoint nowhere.pt does not exist"),
        (["--image-checkpoint", "AUDIO"], "is a 'audio_vae' model where a 'image_gan' model is needed"),
        (["--config", "missing.toml"], "cannot read config file missing.toml"),
        (["--osc", "localhost:9000"], "osc='localhost:9000' must be IP:PORT"),
        (["--osc", "127.0.0.1:99999"], "port must be in 0..65535"),
        (["--osc-allow", "10.0.0.0/33"], "osc_allow entry '10.0.0.0/33' is not a network"),
        (["--image-quality", "0"], "image_quality=0 must be a whole number in 1..100"),
        (["--publish-to", "127.0.0.1:8081/internal/pieces"],
         "publish_to='127.0.0.1:8081/internal/pieces' must be an http(s) URL without credentials"),
        (["--publish-to", "http://user:pw@127.0.0.1/pub"], "must be an http(s) URL without credentials"),
    ],
)
def test_bad_settings_one_line_exit_2(tmp_path: Path, tiny_checkpoints, args: list[str], needle: str) -> None:
    args = [str(tiny_checkpoints[0]) if a == "AUDIO" else a for a in args]
    base = ["run", "--state-dir", str(tmp_path / "s"), "--audio-checkpoint", str(tiny_checkpoints[0]),
            "--image-checkpoint", str(tiny_checkpoints[1]), "--osc", "127.0.0.1:0", "--web", "127.0.0.1:0",
            "--oscquery", "127.0.0.1:0"]
    assert needle in _one_error_line(cli(*base, *args))


def test_unwritable_state_dir(tmp_path: Path, tiny_checkpoints) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    proc = cli("run", "--state-dir", str(blocker / "state"), "--audio-checkpoint", str(tiny_checkpoints[0]),
               "--image-checkpoint", str(tiny_checkpoints[1]))
    assert "cannot write to the state dir" in _one_error_line(proc)


def test_busy_osc_port(tmp_path: Path, tiny_checkpoints) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        proc = cli("run", "--state-dir", str(tmp_path / "s"), "--audio-checkpoint", str(tiny_checkpoints[0]),
                   "--image-checkpoint", str(tiny_checkpoints[1]), "--osc", f"127.0.0.1:{port}",
                   "--web", "127.0.0.1:0", "--oscquery", "127.0.0.1:0")
    assert f"OSC port 127.0.0.1:{port} is busy; pick another with --osc HOST:PORT" in _one_error_line(proc)


def test_config_file_errors(tmp_path: Path, tiny_checkpoints) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('interval = 2\ncolour = "blue"\n')
    assert "unknown setting 'colour'" in _one_error_line(cli("run", "--config", str(cfg)))
    cfg.write_text("interval = \n")
    assert "is not valid TOML" in _one_error_line(cli("run", "--config", str(cfg)))


def test_run_publishes_then_stops_cleanly_on_sigterm(tmp_path: Path, tiny_checkpoints) -> None:
    state = tmp_path / "state"
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        f'state-dir = "{state}"\naudio_checkpoint = "{tiny_checkpoints[0]}"\n'
        f'image_checkpoint = "{tiny_checkpoints[1]}"\ninterval = 0.5\nseed = 3\n'
    )
    proc = subprocess.Popen([sys.executable, "-m", "ciel_node", "run", "--config", str(cfg), "--drift", "0.5",
                             "--osc", "127.0.0.1:0", "--web", "127.0.0.1:0", "--oscquery", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        manifest = state / "manifest.jsonl"
        until_sync(lambda: manifest.exists() and len(manifest.read_text().splitlines()) >= 2, 60,
                   "no pieces published", lambda: proc.communicate()[1], proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    entry = json.loads(manifest.read_text().splitlines()[-1])
    params = entry["params"]
    assert {k: params[k] for k in ("seed", "drift", "interval", "volume_ceiling")} == {
        "seed": 3, "drift": 0.5, "interval": 0.5, "volume_ceiling": -6.0}
    # Unsteered and unbent: the maps' default places, no direction, no bend (the full set: tests/test_params.py).
    assert params["bend"] == {} and params["direction"] == {} and len(params["xy_sound"]) == 2
    for kind in ("image", "sky", "audio", "wav"):
        assert (state / "media" / entry[kind]).is_file()
    assert "piece 1 published" in err and "node stopped" in err


def test_operator_subcommand_is_dispatched_with_its_own_flags(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    proc = cli("operator", "--ssh", f"op@127.0.0.1:{port}", "--known-hosts", str(tmp_path / "kh"),
               "--udp", "127.0.0.1:0")
    assert proc.returncode == 2
    assert f"cannot reach 127.0.0.1:{port}" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_missing_authorized_keys_is_one_clear_line(tmp_path: Path, tiny_checkpoints) -> None:
    proc = cli("run", "--state-dir", str(tmp_path / "s"), "--audio-checkpoint", str(tiny_checkpoints[0]),
               "--image-checkpoint", str(tiny_checkpoints[1]), "--osc", "127.0.0.1:0", "--web", "127.0.0.1:0",
               "--oscquery", "127.0.0.1:0", "--ssh", "127.0.0.1:0", "--authorized-keys", str(tmp_path / "nope"))
    assert "authorized keys file" in _one_error_line(proc)


def test_an_mp3_passed_as_a_checkpoint_is_named_as_such(tmp_path: Path, tiny_checkpoints) -> None:
    from conftest import require_tool

    song = tmp_path / "song.mp3"
    subprocess.run([require_tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=0.5", str(song)], check=True)
    proc = cli("run", "--state-dir", str(tmp_path / "s"), "--audio-checkpoint", str(song),
               "--image-checkpoint", str(tiny_checkpoints[1]), "--osc", "127.0.0.1:0", "--web", "127.0.0.1:0",
               "--oscquery", "127.0.0.1:0")
    assert _one_error_line(proc) == (
        f"ciel-node: error: {song} is not a ciel-node checkpoint (an MP3 sound); pass a .pt made by `ciel-node crack`"
    )


def _damaged(good: Path, out: Path, how: str) -> Path:
    """A copy of a real checkpoint with a hostile config, a NaN weight or one flipped byte."""
    if how == "flipped byte":
        blob = bytearray(good.read_bytes())
        blob[len(blob) // 2] ^= 0x04  # inside one of the tiny audio net's tensors
        out.write_bytes(bytes(blob))
        return out
    payload = torch.load(good, weights_only=True)
    if how == "huge hidden":
        payload["config"]["hidden"] = [10**12]
    else:
        payload["weights"]["decoder.0.bias"][0] = float("nan")
    save_resealed(payload, out)
    return out


@pytest.mark.parametrize(
    ("how", "needle"),
    [
        ("huge hidden", "has an unusable config: hidden=[1000000000000] must be a list of 1..8 layer sizes"),
        ("nan weight", "has 1 NaN/inf value(s) in 'decoder.0.bias'"),
        ("flipped byte", "fails its CRC check"),
    ],
)
def test_a_damaged_checkpoint_exits_2_not_1(tmp_path: Path, tiny_checkpoints, how: str, needle: str) -> None:
    # Exit 1 would be a crash loop under systemd's Restart=always; 2 is the user's error, said once.
    bad = _damaged(tiny_checkpoints[0], tmp_path / "bad.pt", how)
    proc = cli("run", "--state-dir", str(tmp_path / "s"), "--audio-checkpoint", str(bad),
               "--image-checkpoint", str(tiny_checkpoints[1]), "--osc", "127.0.0.1:0", "--web", "127.0.0.1:0",
               "--oscquery", "127.0.0.1:0")
    line = _one_error_line(proc)
    assert needle in line and str(bad) in line, line


def test_a_second_node_on_the_same_state_dir_is_refused(tmp_path: Path, tiny_checkpoints) -> None:
    """Two nodes on one state dir gave the same seq to different pieces and undid each other's manifest lines:
    the second is one line, exit 2, before it reads or sweeps anything; the lock goes with the first (kill -9 too)."""
    state = tmp_path / "state"
    args = ["run", "--no-playback", "--state-dir", str(state), "--audio-checkpoint", str(tiny_checkpoints[0]),
            "--image-checkpoint", str(tiny_checkpoints[1]), "--interval", "3600", "--osc", "127.0.0.1:0",
            "--web", "127.0.0.1:0", "--oscquery", "127.0.0.1:0", "--max-sound-s", "1"]  # a piece soon
    first = subprocess.Popen([sys.executable, "-m", "ciel_node", *args], stderr=subprocess.PIPE, text=True)
    try:
        manifest = state / "manifest.jsonl"
        until_sync(lambda: manifest.exists() and manifest.read_bytes().endswith(b"\n"), 60, "no piece published",
                   lambda: first.communicate()[1], first)
        published = manifest.read_bytes()
        line = _one_error_line(cli(*args, timeout=60))
        assert f"the state dir {state} is in use by another ciel-node (pid {first.pid})" in line
        assert manifest.read_bytes() == published and first.poll() is None
    finally:
        first.kill()
        first.communicate(timeout=30)
    second = subprocess.Popen([sys.executable, "-m", "ciel_node", *args], stderr=subprocess.PIPE, text=True)
    try:
        until_sync(lambda: len(manifest.read_bytes().splitlines()) >= 2, 60,
                   "the node after a kill -9 published nothing", lambda: second.communicate()[1], second)
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=30)
    assert second.returncode == 0
