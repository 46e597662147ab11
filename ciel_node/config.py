"""Every setting as a frozen dataclass, read from CLI flags and an optional TOML file, validated once."""

from __future__ import annotations

import ipaddress
import logging
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ciel_node.errors import ConfigError
from ciel_node.navigation import WEKINATOR_DEFAULT
from ciel_node.net import loopback_networks
from ciel_node.params import PARAMS, ParamError, number

log = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
IMAGE_FORMATS = ("webp", "png", "avif")  # how the pictures may be published (generate/image.py's ImageFormat)
# The controls a config file or a flag may set: the persisted ones (params.py), e.g. `drift = 0.3`.
CONTROL_NAMES = tuple(s.name for s in PARAMS.persisted)


def default_checkpoint(name: str) -> Path:
    """checkpoints/NAME beside the package (a clone), else in the working directory."""
    shipped = PACKAGE_ROOT / "checkpoints" / name
    return shipped if shipped.exists() else Path("checkpoints") / name


@dataclass(frozen=True)
class RunConfig:
    state_dir: Path = Path("state")
    audio_checkpoint: Path = field(default_factory=lambda: default_checkpoint("audio.pt"))
    image_checkpoint: Path = field(default_factory=lambda: default_checkpoint("images.pt"))
    # Starting controls: only the ones given explicitly override what the state dir restored.
    controls: dict[str, float] = field(default_factory=dict)
    keep_pieces: int = 500
    keep_mb: float = 1024.0
    threads: int = 1
    gl_iterations: int = 16
    # Sounds longer than this loop on the page and the speakers instead of being rendered whole:
    # an hour-long interval would otherwise mean an hour of audio (hundreds of MB) per piece.
    max_sound_s: float = 120.0
    # Render in a child process (default): the OSC loop and the renderer never wait on one GIL.
    render_process: bool = True
    # Watchdogs: a render slower than max(this, 10 x the last, 2 x the sound) is a stalled render process;
    # an engine silent this long is a stalled sound engine. Either is killed and replaced.
    render_stall_s: float = 60.0
    engine_stall_s: float = 10.0
    # Sound the engine keeps queued ahead of the device. 30 ms keeps knobs quick; a busy machine whose
    # /api/health shows underruns trades a little latency for none with more (e.g. 0.1).
    engine_lead_s: float = 0.08
    # The device callback's period (playback/speaker.py BLOCK_S): the speakers' output lag is three of them
    # (PulseAudio's ALSA plugin), a control that cuts in waits up to two more. 5 ms: a seed is heard 35 ms after the
    # engine reads it (57 at 10 ms), for 1.5 % of a core more. A machine that stalls for over 15 ms makes PortAudio
    # play silence (health's xruns): there 0.01.
    engine_period_s: float = 0.005
    log_level: str = "info"
    # Speakers at all (`--no-playback`, `speakers = false`: none, not even the sound engine). Not to be confused
    # with the `playback` control (/ciel/playback), which switches existing speakers on and off.
    speakers: bool = True
    audio_device: str | None = None  # PortAudio device index, exact name or unique part of a name; None: default
    osc: str = "127.0.0.1:9000"
    # OSCQuery (HTTP + WebSocket) on the port ossia and RNBO use; "off" disables it.
    oscquery: str = "127.0.0.1:5678"
    web: str = "127.0.0.1:8080"
    # The embedded SSH server runs only with an authorized_keys file (controllers/SSH.md).
    ssh: str = "127.0.0.1:2222"
    authorized_keys: Path | None = None
    # Outgoing SSH to a relay, for nodes behind NAT: "user@relay[:port]".
    reverse_tunnel: str | None = None
    reverse_tunnel_key: Path | None = None
    reverse_tunnel_port: int | None = None
    known_hosts: Path | None = None
    osc_allow: str | None = None  # comma-separated CIDRs; None accepts every source
    # Wekinator's outputs, in order, onto declared parameters: `name` or `name.k` (the k-th of its values, from 1).
    wekinator: str = ",".join(WEKINATOR_DEFAULT)
    # The published pictures: webp (light, every browser), png (lossless, for archives) or avif; quality for the lossy.
    image_format: str = "webp"
    image_quality: int = 80
    # nchan's publisher location (deploy/nginx-nchan.conf): each piece is POSTed there once, and nginx pushes it to
    # every listener. The node's own /api/events goes on serving whoever comes to it directly.
    publish_to: str | None = None

    @property
    def wekinator_targets(self) -> tuple[str, ...]:
        return _targets(self.wekinator) if isinstance(self.wekinator, str) else ()

    def __post_init__(self) -> None:
        # Numbers first, so a string in a config file gets this line, not a comparison's TypeError below.
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "float":
                _check(isinstance(value, int | float) and not isinstance(value, bool),
                       f"{f.name}={value!r} must be a number, e.g. {f.default}")
            elif f.type == "int":
                _check(isinstance(value, int) and not isinstance(value, bool),
                       f"{f.name}={value!r} must be a whole number, e.g. {f.default}")
        for name, value in self.controls.items():
            if name not in CONTROL_NAMES:
                raise ConfigError(f"unknown control {name!r}; known: {', '.join(CONTROL_NAMES)}")
            _check_control(name, value)
        _check(self.keep_pieces >= 1, f"keep_pieces={self.keep_pieces} must be >= 1")
        _check(self.keep_mb > 0, f"keep_mb={self.keep_mb:g} must be > 0")
        _check(1 <= self.threads <= 64, f"threads={self.threads} must be in 1..64")
        if isinstance(self.wekinator, (list, tuple)):  # a TOML list
            object.__setattr__(self, "wekinator", ",".join(map(str, self.wekinator)))
        _check(isinstance(self.wekinator, str) and bool(self.wekinator_targets),
               f"wekinator={self.wekinator!r} must list parameters, e.g. {','.join(WEKINATOR_DEFAULT)!r}")
        _check(1.0 <= self.max_sound_s <= 3600.0, f"max_sound_s={self.max_sound_s:g} must be in 1..3600")
        _check(1 <= self.gl_iterations <= 512, f"gl_iterations={self.gl_iterations} must be in 1..512")
        _check(isinstance(self.speakers, bool), f"speakers={self.speakers!r} must be true or false")
        _check(1.0 <= self.render_stall_s <= 3600.0, f"render_stall_s={self.render_stall_s:g} must be in 1..3600")
        _check(1.0 <= self.engine_stall_s <= 600.0, f"engine_stall_s={self.engine_stall_s:g} must be in 1..600")
        _check(0.01 <= self.engine_lead_s <= 0.5, f"engine_lead_s={self.engine_lead_s:g} must be in 0.01..0.5 s")
        _check(0.002 <= self.engine_period_s <= 0.02,
               f"engine_period_s={self.engine_period_s:g} must be in 0.002..0.02 s (0.005 or 0.01 are usual)")
        _check(self.image_format in IMAGE_FORMATS,
               f"image_format={self.image_format!r} must be one of {', '.join(IMAGE_FORMATS)}")
        _check(isinstance(self.image_quality, int) and 1 <= self.image_quality <= 100,
               f"image_quality={self.image_quality!r} must be a whole number in 1..100")
        if self.publish_to is not None:
            _check_url("publish_to", self.publish_to, "http://127.0.0.1:8081/internal/pieces")
        if self.audio_device is not None:
            object.__setattr__(self, "audio_device", str(self.audio_device))  # TOML may give an index as a number
        self.osc_endpoint  # noqa: B018 - validates
        self.osc_networks  # noqa: B018
        self.web_endpoint  # noqa: B018
        self.oscquery_endpoint  # noqa: B018
        self.ssh_endpoint  # noqa: B018
        if self.reverse_tunnel_port is not None:
            _check(1 <= self.reverse_tunnel_port <= 65535,
                   f"reverse_tunnel_port={self.reverse_tunnel_port} must be in 1..65535")
        _check(
            self.log_level in ("debug", "info", "warning", "error"),
            f"log_level={self.log_level!r} must be one of debug, info, warning, error",
        )


    @property
    def osc_endpoint(self) -> tuple[str, int]:
        return parse_endpoint("osc", self.osc)

    @property
    def oscquery_endpoint(self) -> tuple[str, int] | None:
        """Where the OSCQuery server listens; None when `oscquery = "off"`."""
        if str(self.oscquery).strip().lower() == "off":
            return None
        return parse_endpoint("oscquery", self.oscquery)

    @property
    def ssh_endpoint(self) -> tuple[str, int]:
        return parse_endpoint("ssh", self.ssh)

    @property
    def web_endpoint(self) -> tuple[str, int]:
        return parse_endpoint("web", self.web)

    @property
    def osc_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
        if self.osc_allow is None:
            return None
        nets = []
        if self.authorized_keys is not None or self.reverse_tunnel is not None:
            # SSH forwards reach the OSC port from loopback: an allow list must let them in.
            nets += loopback_networks()
        for part in str(self.osc_allow).split(","):
            try:
                nets.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ConfigError(
                    f"osc_allow entry {part.strip()!r} is not a network; give CIDRs like 192.168.1.0/24,127.0.0.1"
                ) from None
        return nets


def _targets(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _check_control(name: str, value: Any) -> None:
    """A starting control from a flag or the config file: out of range is an error here, not a clamp
    (a typo in a file should be seen, not silently bent to the nearest bound)."""
    spec = PARAMS[name]
    r = spec.range_text()
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    try:
        spec.coerce(value)
    except ParamError:
        what = "a number" if len(spec.types) == 1 else f"{len(spec.types)} numbers"
        raise ConfigError(f"{name}={value!r} is not {what}; give a value in {r}") from None
    for k, (tag, v) in enumerate(zip(spec.types, items)):
        if spec.lo and not spec.lo[k] <= v <= spec.hi[k]:
            shown = number(v) if len(items) == 1 else repr(value)
            raise ConfigError(f"{name}={shown} is out of range; give a value in {r}")
        if tag == "i" and v != int(v):
            raise ConfigError(f"{name}={value!r} must be a whole number in {r}")


def parse_endpoint(name: str, value: str) -> tuple[str, int]:
    """'HOST:PORT' (or '[v6]:PORT') -> (host, port), with the setting named in any error."""
    host, sep, port_s = str(value).rpartition(":")
    host = host.strip("[]")
    try:
        port = int(port_s)
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"{name}={value!r} must be IP:PORT, e.g. 127.0.0.1:9000") from None
    if not sep or not 0 <= port <= 65535:
        raise ConfigError(f"{name}={value!r}: port must be in 0..65535")
    return host, port


def _check_url(name: str, value: Any, example: str) -> None:
    url = urlsplit(str(value))
    _check(url.scheme in ("http", "https") and bool(url.hostname) and not url.username,
           f"{name}={value!r} must be an http(s) URL without credentials, e.g. {example}")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def load_run_config(path: Path | None, flags: dict[str, Any]) -> RunConfig:
    """Merge the TOML file (if any) under the CLI flags (those not None); validate once."""
    values: dict[str, Any] = {}
    if path is not None:
        values.update(_read_toml(path))
    values.update({k: v for k, v in flags.items() if v is not None})
    if isinstance(values.get("playback"), bool):  # the old spelling of `speakers` (playback is now the 0/1 control)
        log.warning("%s: `playback = %s` means `speakers = %s` now (`playback` is the 0/1 control); please rename it",
                    path, str(values["playback"]).lower(), str(values["playback"]).lower())
        values.setdefault("speakers", values.pop("playback"))
    controls = {k: values.pop(k) for k in CONTROL_NAMES if k in values}
    known = {f.name for f in fields(RunConfig)} - {"controls"}
    unknown = sorted(set(values) - known)
    if unknown:
        names = ", ".join(sorted(known | set(CONTROL_NAMES)))
        raise ConfigError(f"unknown setting {unknown[0]!r} in {path}; known: {names}")
    for key in ("state_dir", "audio_checkpoint", "image_checkpoint", "authorized_keys", "reverse_tunnel_key",
                "known_hosts"):
        if values.get(key) is not None:
            values[key] = Path(values[key]).expanduser()
    try:
        return RunConfig(controls=controls, **values)
    except TypeError as e:
        raise ConfigError(f"bad setting in {path}: {e}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read config file {path} ({e.strerror}); pass an existing TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML ({e}); fix that line") from None
    # Accept both `volume-ceiling` (like the flag) and `volume_ceiling`.
    return {k.replace("-", "_"): v for k, v in raw.items()}
