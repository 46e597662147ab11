"""Controls: clamped and echoed, bad values change nothing, persisted atomically, restored."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ciel_node.state import ControlError, Controls, ControlStore, coerce


def test_clamps_and_reports_the_value_set() -> None:
    assert coerce("interval", 0.1) == (0.5, True)
    assert coerce("volume_ceiling", 6) == (0.0, True)
    assert coerce("seed", -5) == (0, True)
    assert coerce("seed", 3.7) == (4, False)
    assert coerce("drift", 0.5) == (0.5, False)


@pytest.mark.parametrize("value", ["3", None, math.nan, math.inf, -math.inf, True, [1]])
def test_non_numbers_change_nothing(tmp_path: Path, value: object) -> None:
    store = ControlStore(tmp_path / "c.json")
    before = store.controls
    with pytest.raises(ControlError):
        store.update(drift=value)
    assert store.controls == before and store.version == 0


def test_unknown_control_is_an_error(tmp_path: Path) -> None:
    store = ControlStore(None)
    with pytest.raises(ControlError, match="unknown control 'speed'"):
        store.update(speed=1)


def test_update_persists_announces_and_restores(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    store = ControlStore(path)
    seen: list[dict] = []
    store.subscribe(lambda c, changed: seen.append(changed))
    snap, applied = store.update(interval=2, seed=99, drift=5)
    assert applied == {"interval": 2.0, "seed": 99, "drift": 1.0}
    assert snap == Controls(interval=2.0, seed=99, drift=1.0) and seen == [applied]
    store.update(seed=99)  # no change, no announcement
    store.flush()
    assert len(seen) == 1
    assert json.loads(path.read_text())["seed"] == 99
    again = ControlStore(path)
    assert again.controls == snap
    # Explicit overrides (CLI flags) win over what was saved.
    assert ControlStore(path, overrides={"seed": 7}).controls.seed == 7


def test_corrupt_saved_controls_fall_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"interval": 3, "seed": ')  # torn by a power cut
    assert ControlStore(path).controls == Controls()
    path.write_text('{"interval": 99999, "drift": "x", "seed": 12}')  # each value on its own: the usable ones stay
    assert ControlStore(path).controls == Controls(interval=3600.0, seed=12)
    path.write_text('{"interval": 99999}')
    assert ControlStore(path).controls.interval == 3600.0


@pytest.mark.parametrize("content", [
    "null", "[1, 2]", "5", '"drift"', "true",  # valid JSON, not an object: each exited 1 at every start
    '{"drift": NaN, "seed": Infinity, "interval": -Infinity}', '{"seed": 1e400}', '{"seed": [3], "drift": {}}',
    '{"seed": ' + "9" * 5000 + "}", "[" * 100_000, "\x00\x00\x00",
])
def test_saved_controls_of_any_shape_give_one_warning_and_defaults(tmp_path: Path, content: str, caplog) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    assert ControlStore(path).controls == Controls()
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and str(path) in warnings[0].getMessage()
    assert len(warnings[0].getMessage()) < 400  # the bad value is quoted, not dumped
    assert json.loads(path.read_text()) == Controls().as_dict()  # saved clean for the next start


def test_integer_ranges_are_printed_whole() -> None:
    """`--seed -1` said "give a value in 0..2.14748e+09"."""
    from ciel_node.config import RunConfig
    from ciel_node.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        RunConfig(controls={"seed": -1})
    assert str(e.value) == "seed=-1 is out of range; give a value in 0..2147483647"
    with pytest.raises(ConfigError, match=r"give a value in 0\.5\.\.3600$"):
        RunConfig(controls={"interval": 0.1})
    with pytest.raises(ConfigError, match=r"seed=3\.5 must be a whole number in 0\.\.2147483647$"):
        RunConfig(controls={"seed": 3.5})
    with pytest.raises(ConfigError, match=r"engine_lead_s=5 must be in 0\.01\.\.0\.5 s$"):
        RunConfig(engine_lead_s=5)
    with pytest.raises(ConfigError, match=r"engine_period_s=0\.001 must be in 0\.002\.\.0\.02 s"):
        RunConfig(engine_period_s=0.001)


def test_a_setting_that_is_not_a_number_is_named_with_an_example(tmp_path: Path) -> None:
    """A string in a config file said "'<=' not supported between instances of 'float' and 'str'"."""
    from ciel_node.config import load_run_config
    from ciel_node.errors import ConfigError

    for line, message in (('engine_period_s = "fast"', "engine_period_s='fast' must be a number, e.g. 0.005"),
                          ("engine_lead_s = true", "engine_lead_s=True must be a number, e.g. 0.08"),
                          ("gl_iterations = 2.5", "gl_iterations=2.5 must be a whole number, e.g. 16")):
        (tmp_path / "node.toml").write_text(line + "\n")
        with pytest.raises(ConfigError) as e:
            load_run_config(tmp_path / "node.toml", {})
        assert str(e.value) == message
    (tmp_path / "node.toml").write_text("engine_period_s = 0.01\nkeep_mb = 512\n")  # an int where a float goes: fine
    assert load_run_config(tmp_path / "node.toml", {}).engine_period_s == 0.01
