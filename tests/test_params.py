"""The declared parameter space: OSC 1.0 address patterns, validation, and everything that derives from it."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nodes import node_config, running_node, until

from ciel_node.config import CONTROL_NAMES, load_run_config
from ciel_node.controls.feedback import FeedbackHub, state_message, state_messages
from ciel_node.controls.osc import OscSurface, Peer
from ciel_node.controls.oscquery import Namespace
from ciel_node.errors import ConfigError
from ciel_node.params import PARAMS, READ, WRITE, ParamError, ParamSpec, Registry
from ciel_node.state import Controls, ControlStore

ROOT = Path(__file__).resolve().parent.parent


def _addresses(pattern: str, registry: Registry = PARAMS) -> list[str]:
    return [s.address for s in registry.match(pattern)]


@pytest.mark.parametrize(("pattern", "expected"), [
    ("/ciel/drift", ["/ciel/drift"]),
    ("/ciel/dri?t", ["/ciel/drift"]),
    ("/ciel/?", []),  # ? is exactly one character
    ("/ciel/*l", ["/ciel/interval"]),
    ("/ciel/[ds]*", ["/ciel/seed", "/ciel/drift", "/ciel/synaesthesia"]),  # declaration order
    ("/ciel/[a-e]*", ["/ciel/drift"]),
    ("/ciel/[!a-r]*", ["/ciel/seed", "/ciel/synaesthesia", "/ciel/volume_ceiling"]),
    ("/ciel/{seed,drift}", ["/ciel/seed", "/ciel/drift"]),
    ("/ciel/{drift,nope}", ["/ciel/drift"]),
    ("/ciel/*/last_seq", ["/ciel/status/last_seq"]),  # a * matches one part...
    ("/ciel/*", ["/ciel/interval", "/ciel/seed", "/ciel/drift", "/ciel/synaesthesia", "/ciel/keyframes",
                 "/ciel/volume_ceiling", "/ciel/playback", "/ciel/next"]),  # ... and never crosses a '/'
    ("/ciel/status/*", ["/ciel/status/last_seq", "/ciel/status/next_at", "/ciel/status/presets",
                        "/ciel/status/speakers"]),
    ("/*/drift", ["/ciel/drift"]),
    ("/ciel/drift*", ["/ciel/drift"]),  # * may match nothing
    ("/ciel/[-v]olume_ceiling", ["/ciel/volume_ceiling"]),  # '-' first is literal
    ("/ciel/dr.ft", []),  # regex characters are literal
    ("/ciel/.*", []),
])
def test_osc_1_0_patterns(pattern: str, expected: list[str]) -> None:
    assert _addresses(pattern) == expected


@pytest.mark.parametrize("pattern", ["/ciel/[drift", "/ciel/{a,b", "/ciel/dri]ft", "/ciel/}", "/ciel/[]x"])
def test_a_malformed_pattern_is_a_clear_error(pattern: str) -> None:
    with pytest.raises(ParamError, match="pattern"):
        PARAMS.match(pattern)


def test_a_registry_declares_once_and_refuses_twice() -> None:
    reg = Registry([ParamSpec("a", "f", "a thing", 0.0, 1.0, 0.5)])
    with pytest.raises(ValueError, match="declared twice"):
        reg.declare(ParamSpec("a", "i", "again", 0, 1, 0))
    reg.declare(ParamSpec("xy", "ff", "a point", (0.0, 0.0), (1.0, 1.0), (0.5, 0.5)))
    assert _addresses("/ciel/{a,xy}", reg) == ["/ciel/a", "/ciel/xy"]
    assert _addresses("/ciel/x?", reg) == ["/ciel/xy"]  # a pattern cached before the declaration would miss it


def test_a_pair_control_is_clamped_per_value_and_needs_both() -> None:
    xy = ParamSpec("xy", "ff", "a point", (0.0, 0.0), (1.0, 1.0), (0.5, 0.5))
    assert xy.coerce((0.25, 1.5)) == ((0.25, 1.0), True)
    assert xy.coerce([0.1, 0.2]) == ((0.1, 0.2), False)
    for bad in (0.5, (0.5,), (0.1, 0.2, 0.3), (0.1, "x"), (0.1, float("nan"))):
        with pytest.raises(ParamError, match="xy"):
            xy.coerce(bad)
    assert xy.range_text() == "0..1 0..1" and xy.initial == (0.5, 0.5)


def test_controls_are_the_declared_ones_and_cross_processes() -> None:
    c = Controls(seed=7, drift=0.5)
    assert [s.name for s in PARAMS.controls] == list(c.as_dict())
    assert (c.seed, c.drift, c.interval) == (7, 0.5, 30.0)
    assert pickle.loads(pickle.dumps(c)) == c and hash(pickle.loads(pickle.dumps(c))) == hash(c)
    assert c.replace(seed=8).seed == 8 and c.seed == 7
    with pytest.raises(AttributeError):
        c.seed = 9  # type: ignore[misc]
    with pytest.raises(ParamError, match="unknown control 'speed'"):
        Controls(speed=1)


def test_readouts_and_commands_cannot_be_set(tmp_path: Path) -> None:
    store = ControlStore(tmp_path / "c.json")
    for name in ("last_seq", "next"):
        with pytest.raises(ParamError, match="read-only|a command"):
            store.update(**{name: 1})
    seen: list[tuple[str, object]] = []
    store.watch(lambda name, value: seen.append((name, value)))
    store.report(last_seq=12, next_at=1.5e9)
    store.report(last_seq=12)  # unchanged: no news
    store.update(drift=0.25)
    assert seen == [("last_seq", 12), ("next_at", 1.5e9), ("drift", 0.25)]
    assert store.value("last_seq") == 12 and store.value("drift") == 0.25
    assert "last_seq" not in (tmp_path / "c.json").read_text()  # readouts are never saved


async def test_a_running_node_reports_its_readouts(tmp_path: Path, tiny_checkpoints: tuple[Path, Path]) -> None:
    async with running_node(node_config(tmp_path / "state", tiny_checkpoints, oscquery="off")) as r:
        store, seen = r.node.controls, []
        store.watch(lambda name, value: seen.append(name))
        await until(lambda: store.value("speakers") == "disabled", 5, "the speakers' state")  # --no-playback
        # The media store counts the piece in its write thread; the readout follows on the loop a moment later.
        await until(lambda: store.value("last_seq") == r.node.media.last_seq >= 1, 5, "the last_seq readout")
        assert store.value("next_at") == r.node.next_at > r.node.media.latest()["created_at"]
        r.node.request_next()
        await until(lambda: store.value("last_seq") == 2, 30, "the second piece")
        assert "last_seq" in seen and "next_at" in seen
        entry = r.node.media.latest()
        assert entry["params"] == store.registry.manifest_params(store.controls.as_dict())
        assert entry["params"]["bend"] == {}  # every bend neutral: none listed
    with pytest.raises(ParamError, match="speakers must be one of"):
        store.report(speakers="exploded")


def test_everything_derives_from_the_registry(tmp_path: Path) -> None:
    controls = [s.name for s in PARAMS.controls]
    assert [m.split(b"\0")[0].decode() for m in state_messages(Controls())] == [f"/ciel/state/{n}" for n in controls]
    assert state_message("seed", 3.0)[-8:] == b",i\0\0\0\0\0\3"
    assert list(CONTROL_NAMES) == [s.name for s in PARAMS.persisted]  # config keys / flags: the saved controls
    assert {s.name for s in PARAMS if s.access == READ} == {"last_seq", "next_at", "presets", "speakers"}
    assert [s.name for s in PARAMS if s.access == WRITE] == ["next", "preset_store", "preset_recall", "preset_delete",
                                                             "preset_name"]
    manifest = PARAMS.manifest_params(Controls(seed=3).as_dict())
    assert manifest == {"interval": 30.0, "seed": 3, "drift": 0.1, "synaesthesia": 0.0, "keyframes": 6,
                        "volume_ceiling": -6.0}  # not playback: no effect
    toml = tmp_path / "c.toml"
    toml.write_text("drift = 0.3\nplayback = 0\n")
    assert load_run_config(toml, {}).controls == {"drift": 0.3, "playback": 0}
    toml.write_text("drift = 3\n")
    with pytest.raises(ConfigError, match=r"drift=3 is out of range; give a value in 0\.\.1"):
        load_run_config(toml, {})
    toml.write_text("playback = false\n")  # the old spelling of `speakers`
    config = load_run_config(toml, {})
    assert config.speakers is False and config.controls == {}


def test_one_declaration_reaches_every_surface(tmp_path: Path) -> None:
    """A parameter declared once (here an x/y pair, as the 2-D map will be) is on OSC with its clamp echoed and
    its patterns, in /ciel/get and the pushes, in OSCQuery, saved, in the manifest and in the README table."""
    reg = Registry(list(PARAMS))
    reg.declare(ParamSpec("xy", "ff", "where the walk's home is on the map", (0.0, 0.0), (1.0, 1.0), (0.5, 0.5)))
    store = ControlStore(tmp_path / "controls.json", registry=reg)
    counters: dict[str, int] = {}
    hub = FeedbackHub(counters, registry=reg)
    surface = OscSurface(store, lambda: None, hub, counters)
    sent: list[bytes] = []
    hub.send = lambda channels, packets: sent.extend(packets)  # type: ignore[method-assign]
    peer = Peer("127.0.0.1", 9, hub)
    assert surface.message("/ciel/xy", [0.25, 1.5], peer) is None
    assert store.value("xy") == (0.25, 1.0) and sent[-1].startswith(b"/ciel/state/xy\0\0,ff\0")  # clamped: echoed
    assert surface.message("/ciel/x?", [0.5, 0.5], peer) is None and store.value("xy") == (0.5, 0.5)
    assert "xy takes 2 numbers" in (surface.message("/ciel/xy", [0.5], peer) or "")
    assert any(m.startswith(b"/ciel/state/xy\0") for m in hub.state_messages(store.controls))
    ns = Namespace(store, hub.reported).node("/ciel/xy")
    assert (ns["TYPE"], ns["VALUE"], ns["RANGE"]) == ("ff", [0.5, 0.5], [{"MIN": 0.0, "MAX": 1.0}] * 2)
    store.flush()
    assert json.loads((tmp_path / "controls.json").read_text())["xy"] == [0.5, 0.5]
    assert ControlStore(tmp_path / "controls.json", registry=reg).value("xy") == (0.5, 0.5)  # restored as a pair
    assert reg.manifest_params(store.controls.as_dict())["xy"] == [0.5, 0.5]
    assert "| `/ciel/xy` | `ff` | 0..1 0..1 | 0.5 0.5 | read/write |" in reg.markdown()


def test_cli_flags_are_derived() -> None:
    out = subprocess.run([sys.executable, "-m", "ciel_node", "run", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for spec in PARAMS.persisted:
        assert spec.flag in out


def test_readme_address_table_is_the_generated_one() -> None:
    """The README's table is `python -m ciel_node.params`: a declared parameter cannot go undocumented."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- params:begin.*?-->\n(.*?)<!-- params:end -->", readme, re.S)
    assert found, "README.md lacks the <!-- params:begin --> ... <!-- params:end --> table"
    generated = subprocess.run([sys.executable, "-m", "ciel_node.params"], capture_output=True, text=True,
                               check=True, cwd=ROOT).stdout
    assert found.group(1) == generated, "README's address table is stale: run `make docs`"
