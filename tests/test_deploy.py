"""The shipped deployment files stay in step with the CLI."""

from __future__ import annotations

import shlex
from pathlib import Path

from ciel_node.__main__ import _parser
from ciel_node.config import RunConfig, load_run_config
from ciel_node.fdlimit import ConnectionCaps

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_example_config_is_accepted() -> None:
    cfg = load_run_config(DEPLOY / "ciel-node.toml", {})
    assert isinstance(cfg, RunConfig) and cfg.state_dir == Path("/var/lib/ciel-node") and cfg.keep_pieces == 2000


def test_unit_restarts_and_its_command_parses() -> None:
    unit = (DEPLOY / "ciel-node.service").read_text()
    assert "Restart=always" in unit and "WantedBy=multi-user.target" in unit
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    assert argv[0].endswith("/ciel-node")
    args = _parser().parse_args(argv[1:])
    assert args.command == "run" and args.config == Path("/etc/ciel-node.toml")


def test_unit_gives_the_listeners_enough_descriptors() -> None:
    """Systemd's default soft limit (1024) ran out at about 1,000 listeners; the unit sets its own."""
    unit = (DEPLOY / "ciel-node.service").read_text()
    limits = [line.removeprefix("LimitNOFILE=") for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert len(limits) == 1 and limits[0].isdigit(), "deploy/ciel-node.service needs one LimitNOFILE=N"
    caps = ConnectionCaps.from_limit(int(limits[0]))
    assert caps.listeners >= 2000 and caps.connections >= 4000  # the README's room-sized audience, and more


def test_unit_does_not_restart_on_a_user_error() -> None:
    """Exit 2 is a bad flag or an unusable checkpoint: restarting every 3 s would only repeat the line."""
    unit = (DEPLOY / "ciel-node.service").read_text()
    assert "RestartPreventExitStatus=2" in unit.splitlines()


def test_example_config_documents_the_watchdogs_and_they_parse() -> None:
    text = (DEPLOY / "ciel-node.toml").read_text()
    for key in ("render_stall_s", "engine_stall_s"):
        line = next(line for line in text.splitlines() if line.lstrip("# ").startswith(key))
        cfg = load_run_config(None, {key: float(line.split("=")[1])})
        assert getattr(cfg, key) == float(line.split("=")[1])


def test_unit_lets_the_sound_engine_run_ahead_of_ordinary_processes() -> None:
    from ciel_node.playback.engine import ENGINE_NICE

    unit = (DEPLOY / "ciel-node.service").read_text()
    assert f"LimitNICE={ENGINE_NICE}" in unit.splitlines()
