"""The controller patches against real peers: Pd itself (headless) and liblo's oscdump / oscsend as the node.

Pd runs the shipped `controllers/ciel.pd` with `-nogui -noaudio -nomidi -nrt` (the ordinary scheduler, which
polls the network; `-batch` does not poll sockets, so nothing would ever arrive). It is driven through the
patch's named receives, with `-send` at start-up and, later, through a small harness patch written into
tmp_path that listens for FUDI on a UDP port of its own and prints every display update. The Max patch
cannot run here, so it gets a structural test of its JSON and its wiring.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool
from nodes import free_ports, until_sync

CONTROLLERS = Path(__file__).resolve().parent.parent / "controllers"
PD_PATCH = CONTROLLERS / "ciel.pd"
MAX_PATCH = CONTROLLERS / "ciel.maxpat"

STATE_NAMES = ("interval", "seed", "drift", "volume_ceiling", "playback")
# Every controller-side address of the contract.
CONTROLLER_ADDRESSES = (
    "/ciel/interval", "/ciel/seed", "/ciel/drift", "/ciel/volume_ceiling", "/ciel/next", "/ciel/playback",
    "/ciel/get", "/ciel/subscribe", "/ciel/unsubscribe",
)
CONTROL_ADDRESSES = tuple(f"/ciel/{name}" for name in (*STATE_NAMES, "next"))
# Lines Pd prints when a patch is broken or loops.
PD_TROUBLE = ("couldn't create", "connection failed", "stack overflow", "no method for", "bad arguments", "expected")


def osc_packet(address: str) -> bytes:
    """An OSC message without arguments."""

    def padded(b: bytes) -> bytes:
        return b + b"\0" * (4 - len(b) % 4)

    return padded(address.encode()) + padded(b",")


class Proc:
    """A child process whose output goes to a file, stopped by its own PID."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def log_so_far(self) -> str:
        """For a wait's failure message."""
        return f"log so far:\n{self.text()}"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


class Node:
    """oscdump standing in for the node: every OSC message it receives, parsed."""

    def __init__(self, proc: Proc, port: int) -> None:
        self.proc, self.port = proc, port

    def messages(self) -> list[tuple[str, str, list[str]]]:
        """(address, type tags, args) per line; oscdump prefixes each line with a timetag (hex.hex)."""
        out = []
        for line in self.proc.text().splitlines():
            words = re.findall(r'"[^"]*"|\S+', line)  # a string with spaces stays one argument
            if words and not words[0].startswith("/"):
                words = words[1:]
            if words:
                out.append((words[0], words[1] if len(words) > 1 else "", words[2:]))
        return out

    def wait_for(self, address: str, types: str, args: list[str], after: int = 0, timeout: float = 5.0) -> int:
        """Index of the first matching message at or after `after`."""

        def find() -> int | None:
            for i, msg in enumerate(self.messages()[after:], start=after):
                if msg == (address, types, args):
                    return i + 1  # +1 so that index 0 is truthy; undone below
            return None

        return until_sync(find, timeout, f"{address} {types} {' '.join(args)}", self.proc.log_so_far) - 1


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in reversed(started):
        p.stop()


@pytest.fixture
def node(tmp_path: Path, procs: list[Proc]) -> Node:
    oscdump = require_tool("oscdump")
    (port,) = free_ports(1, socket.SOCK_DGRAM)
    proc = Proc([oscdump, "-L", str(port)], tmp_path / "oscdump.txt")
    procs.append(proc)
    n = Node(proc, port)
    # oscdump says nothing when ready: knock until a probe shows up.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        deadline = time.monotonic() + 5
        while not any(m[0] == "/probe" for m in n.messages()):
            assert proc.popen.poll() is None, f"oscdump exited: {proc.text()}"
            assert time.monotonic() < deadline, "oscdump never printed the probe"
            s.sendto(osc_packet("/probe"), ("127.0.0.1", port))
            time.sleep(0.05)
    return n


BEND_DISPLAYS = ("bend-net", "bend-layer", "bend-transform", "bend-value", "bend-y", "bend-random", "bend-cluster")
NETS = ("sound", "image")
STEER_DISPLAYS = (
    *(f"xy-{net}-{axis}" for net in NETS for axis in "xy"),
    *(f"direction-{net}-{k}" for net in NETS for k in range(1, 5)),
    "preset-slot", "preset-glide", "preset-name", "presets",
)
HARNESS_DISPLAYS = (
    *STATE_NAMES, "piece-seq", "piece-image", "piece-audio", "error-address", "error-reason", "connected",
    *BEND_DISPLAYS, *STEER_DISPLAYS,
)
# Receive names printed as they are (not ciel-<name>-set): the pads' dots, moved with "pos x y".
HARNESS_RAW = tuple(f"xy-{net}-dot" for net in NETS)


def harness_patch(ctrl_port: int) -> str:
    """A patch opened next to ciel.pd: FUDI commands in on ctrl_port, every display update printed.

    `send <name> <message>` sends the message to ciel.pd's receive name (a [s] whose name is set first)."""
    lines = [
        "#N canvas 0 0 600 400 12;",
        f"#X obj 10 10 netreceive -u {ctrl_port};",
        "#X obj 10 40 route hello unsubscribe bend-transform bend-value send;",
        "#X obj 10 70 s ciel-hello;",
        "#X obj 120 70 s ciel-unsubscribe;",
        "#X obj 250 70 s ciel-bend-transform;",
        "#X obj 400 70 s ciel-bend-value;",
    ]
    connects = ["#X connect 0 0 1 0;", "#X connect 1 0 2 0;", "#X connect 1 1 3 0;", "#X connect 1 2 4 0;",
                "#X connect 1 3 5 0;"]
    shown = [(f"ciel-{name}-set", name) for name in HARNESS_DISPLAYS] + [(f"ciel-{name}", name) for name in HARNESS_RAW]
    for n, (receive, name) in enumerate(shown):
        index = 6 + 2 * n
        lines.append(f"#X obj 10 {100 + 30 * n} r {receive};")
        lines.append(f"#X obj 250 {100 + 30 * n} print shown-{name};")
        connects.append(f"#X connect {index} 0 {index + 1} 0;")
    # send: the rest of the message is kept, the name set, then the rest sent (list split outputs right to left)
    at = 6 + 2 * len(shown)
    lines += ["#X obj 500 10 list split 1;", "#X obj 500 40 list;", "#X obj 500 70 t b s;", "#X obj 500 100 s;"]
    connects += [f"#X connect 1 4 {at} 0;", f"#X connect {at} 1 {at + 1} 1;", f"#X connect {at} 0 {at + 2} 0;",
                 f"#X connect {at + 2} 1 {at + 3} 1;", f"#X connect {at + 2} 0 {at + 1} 0;",
                 f"#X connect {at + 1} 0 {at + 3} 0;"]
    return "\n".join(lines + connects) + "\n"


class Pd:
    def __init__(self, proc: Proc, listen: int, ctrl: int) -> None:
        self.proc, self.listen, self.ctrl = proc, listen, ctrl

    def command(self, text: str) -> None:
        """A FUDI message to the harness (hello / unsubscribe / bend-transform <name> / bend-value <x>)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(f"{text};\n".encode(), ("127.0.0.1", self.ctrl))

    def wait_printed(self, pattern: str, timeout: float = 5.0) -> re.Match[str]:
        return until_sync(lambda: re.search(pattern, self.proc.text(), re.M), timeout, f"Pd to print {pattern!r}",
                          self.proc.log_so_far)

    def assert_healthy(self) -> None:
        text = self.proc.text()
        trouble = [line for line in text.splitlines() if any(t in line for t in PD_TROUBLE)]
        assert not trouble, f"Pd complained:\n{text}"
        assert self.proc.popen.poll() is None, f"Pd exited:\n{text}"


@pytest.fixture
def start_pd(tmp_path: Path, procs: list[Proc], node: Node) -> Callable[[list[str]], Pd]:
    """Pd with the shipped patch pointed at the node and listening on a free port; more -send messages optional."""
    pd = require_tool("pd")

    def start(sends: list[str]) -> Pd:
        listen, ctrl = free_ports(2, socket.SOCK_DGRAM)
        harness = tmp_path / "harness.pd"
        harness.write_text(harness_patch(ctrl))
        argv = [pd, "-nogui", "-noaudio", "-nomidi", "-nrt", "-noprefs", "-stderr",
                "-open", str(harness), "-open", str(PD_PATCH)]
        for message in [f"ciel-connect 127.0.0.1 {node.port}", f"ciel-listen {listen}", *sends]:
            argv += ["-send", message]
        proc = Proc(argv, tmp_path / "pd-stderr.txt")
        procs.append(proc)
        p = Pd(proc, listen, ctrl)
        # Listening comes before the hello, so once the node has the subscribe, Pd hears its port.
        node.wait_for("/ciel/subscribe", "i", [str(listen)])
        node.wait_for("/ciel/get", "i", [str(listen)])
        return p

    return start


# --- Pd -> node ------------------------------------------------------------------------------------------------
def test_pd_sends_every_control_with_its_type_tag(node: Node, start_pd: Callable[[list[str]], Pd]) -> None:
    pd = start_pd([
        "ciel-interval 5", "ciel-seed 12345", "ciel-drift 0.3", "ciel-volume_ceiling -12", "ciel-next bang",
        "ciel-playback 1",
        # out of range: clipped by the patch before sending (the seed stops below 2^31: Pd floats are 32-bit)
        "ciel-interval 99999", "ciel-volume_ceiling -72", "ciel-drift -1", "ciel-seed 2147483647", "ciel-playback 7",
    ])
    listen = str(pd.listen)
    hello = node.wait_for("/ciel/get", "i", [listen])
    expected = [
        ("/ciel/interval", "f", ["5.000000"]),
        ("/ciel/seed", "i", ["12345"]),
        ("/ciel/drift", "f", ["0.300000"]),
        ("/ciel/volume_ceiling", "f", ["-12.000000"]),
        ("/ciel/next", "", []),
        ("/ciel/playback", "i", ["1"]),
        ("/ciel/interval", "f", ["3600.000000"]),
        ("/ciel/volume_ceiling", "f", ["-60.000000"]),
        ("/ciel/drift", "f", ["0.000000"]),
        ("/ciel/seed", "i", ["2147483520"]),
        ("/ciel/playback", "i", ["1"]),
    ]
    at = hello
    for address, types, args in expected:  # in the order they were sent
        at = node.wait_for(address, types, args, after=at + 1)
    # The hello came first: subscribe, then get, both with the explicit listen port (netsend's source port is
    # not one it listens on).
    sub = node.wait_for("/ciel/subscribe", "i", [listen])
    assert sub < hello
    # The subscription is renewed by the patch's metro (every 5 s), without anything else being re-sent.
    renewed = node.wait_for("/ciel/subscribe", "i", [listen], after=at + 1, timeout=7.0)
    assert not [m for m in node.messages()[at + 1:renewed] if m[0] in CONTROL_ADDRESSES]
    pd.assert_healthy()


def test_pd_widgets_are_wired_to_the_same_path(node: Node, start_pd: Callable[[list[str]], Pd]) -> None:
    """A float sent to a widget's receive name makes it output, as a drag would: each slider and number box sends."""
    pd = start_pd(["ciel-drift-set 0.5", "ciel-seed-set 77", "ciel-playback-set 0", "ciel-interval-set 30",
                   "ciel-volume_ceiling-set -20"])
    listen = str(pd.listen)
    start = node.wait_for("/ciel/get", "i", [listen]) + 1
    pd.command("hello")  # marks the end
    end = node.wait_for("/ciel/subscribe", "i", [listen], after=start)
    assert node.messages()[start:end] == [
        ("/ciel/drift", "f", ["0.500000"]), ("/ciel/drift", "f", ["0.500000"]),  # slider, number box
        ("/ciel/seed", "i", ["77"]),  # number box only
        ("/ciel/playback", "i", ["0"]),  # toggle
        ("/ciel/interval", "f", ["30.000000"]), ("/ciel/interval", "f", ["30.000000"]),
        ("/ciel/volume_ceiling", "f", ["-20.000000"]), ("/ciel/volume_ceiling", "f", ["-20.000000"]),
    ]
    pd.assert_healthy()


def test_pd_unsubscribes_and_stops_renewing(node: Node, start_pd: Callable[[list[str]], Pd]) -> None:
    pd = start_pd([])
    listen = str(pd.listen)
    start = len(node.messages())
    pd.command("unsubscribe")
    gone = node.wait_for("/ciel/unsubscribe", "i", [listen], after=start)
    time.sleep(5.5)  # longer than the re-subscribe period: nothing may come while unsubscribed
    assert node.messages()[gone + 1:] == [], node.proc.text()
    # Asking again (the hello) restarts the subscription at once: subscribe, then get.
    pd.command("hello")
    sub = node.wait_for("/ciel/subscribe", "i", [listen], after=gone + 1)
    node.wait_for("/ciel/get", "i", [listen], after=sub + 1)
    pd.assert_healthy()


# --- node -> Pd ------------------------------------------------------------------------------------------------
def test_pd_shows_and_prints_feedback_without_sending_it_back(
    node: Node, start_pd: Callable[[list[str]], Pd]
) -> None:
    oscsend = require_tool("oscsend")
    pd = start_pd([])
    mark = len(node.messages())
    feedback = [
        ["/ciel/state/interval", "f", "7.5"],
        ["/ciel/state/seed", "i", "4242"],
        ["/ciel/state/drift", "f", "0.25"],
        ["/ciel/state/volume_ceiling", "f", "-18"],
        ["/ciel/state/playback", "i", "0"],
        ["/ciel/piece", "iss", "12", "/media/a.png", "/media/a.mp3"],
        ["/ciel/error", "ss", "/ciel/seed", "not a number"],
    ]
    for message in feedback:
        subprocess.run([oscsend, "127.0.0.1", str(pd.listen), *message], check=True, timeout=5)
    # Printed in a form easy to grep (Pd prints numbers with %g, and escapes spaces inside a symbol)...
    for line in ("ciel-state: interval 7.5", "ciel-state: seed 4242", "ciel-state: drift 0.25",
                 "ciel-state: volume_ceiling -18", "ciel-state: playback 0",
                 "ciel-piece: 12 /media/a.png /media/a.mp3"):
        pd.wait_printed("^" + re.escape(line) + "$")
    pd.wait_printed(r"^ciel-error: /ciel/seed not\\? a\\? number$")
    # ...and shown on the widgets with "set", which does not make them output.
    for name, value in (("interval", "7.5"), ("seed", "4242"), ("drift", "0.25"), ("volume_ceiling", "-18"),
                        ("playback", "0"), ("piece-seq", "12"), ("piece-image", "/media/a.png"),
                        ("piece-audio", "/media/a.mp3"), ("error-address", "/ciel/seed")):
        pd.wait_printed(f"^shown-{re.escape(name)}: set {re.escape(value)}$")
    pd.wait_printed(r"^shown-error-reason: set not\\? a\\? number$")
    # No echo: a hello sent after all of that was handled marks the end; nothing but the hello may precede it.
    pd.command("hello")
    end = node.wait_for("/ciel/get", "i", [str(pd.listen)], after=mark)
    echoed = [m for m in node.messages()[mark:end] if m[0] in CONTROL_ADDRESSES]
    assert not echoed, f"feedback was sent back to the node: {echoed}"
    pd.assert_healthy()


def test_pd_patch_loads_with_defaults_and_no_errors(tmp_path: Path, procs: list[Proc]) -> None:
    """On its own, the patch creates every object, connects every line, and shows the contract defaults."""
    pd = require_tool("pd")
    (ctrl,) = free_ports(1, socket.SOCK_DGRAM)
    harness = tmp_path / "harness.pd"
    harness.write_text(harness_patch(ctrl))
    proc = Proc([pd, "-nogui", "-noaudio", "-nomidi", "-nrt", "-noprefs", "-stderr", "-verbose",
                 "-open", str(harness), "-open", str(PD_PATCH)],
                tmp_path / "pd-stderr.txt")
    procs.append(proc)
    p = Pd(proc, 0, ctrl)
    p.wait_printed(r"^shown-volume_ceiling: set -6$")
    for name, value in (("interval", "30"), ("seed", "0"), ("drift", "0.1"), ("playback", "1")):
        p.wait_printed(f"^shown-{name}: set {value}$")
    # The load sequence: connect to the default node, listen on 9001.
    p.wait_printed(r"connecting to 127\.0\.0\.1 9000")
    # (9001 may be taken on a busy machine; the attempt is what the load sequence owes.)
    p.wait_printed(r"listening on 9001|netreceive: listen failed: Address already in use")
    # The bending section starts on image, layer 1, rotate at its neutral 0 (selecting sends nothing).
    for name, value in (("bend-net", "0"), ("bend-layer", "1"), ("bend-transform", "2"), ("bend-value", "0"),
                        ("bend-random", "0.5"), ("bend-cluster", "1")):
        p.wait_printed(f"^shown-{name}: set {value}$")
    # The steering section: the pads in the middle (the dot too), the knobs at 0, slot 0, glide 0 - sending nothing.
    for name in STEER_DISPLAYS[:-2]:
        p.wait_printed(f"^shown-{name}: set {'0.5' if name.startswith('xy-') else '0'}$")
    for net in NETS:
        p.wait_printed(f"^shown-xy-{net}-dot: {dot(net, 0.5, 0.5)}$")
    p.assert_healthy()


# --- Pd bending section -> node ---------------------------------------------------------------------------------
def bend_messages_sent(node: Node, pd: Pd) -> list[tuple[str, str, list[str]]]:
    """The /ciel/bend messages Pd sent for its start-up -send list: all precede a hello sent afterwards."""
    listen = str(pd.listen)
    start = node.wait_for("/ciel/get", "i", [listen]) + 1
    pd.command("hello")
    end = node.wait_for("/ciel/get", "i", [listen], after=start)
    return [m for m in node.messages()[start:end] if m[0].startswith("/ciel/bend")]


# One performance, played on both patches: the Pd test sends these to the patch's receive names, the Max test sets
# the widgets they name. Net, layer and transform only select (nothing is sent); the value sends, typed and clipped
# per transform.
BEND_TRANSFORMS = ("translate", "scale", "rotate", "erode", "dilate", "multiply", "threshold", "flip_h", "flip_v",
                   "invert", "ablate")
BEND_PLAY = [
    "ciel-bend-layer 3", "ciel-bend-transform rotate", "ciel-bend-value 45",
    "ciel-bend-value 400",  # clipped to 180
    "ciel-bend-transform translate", "ciel-bend-value 0.5", "ciel-bend-y -0.25", "ciel-bend-y 9",
    "ciel-bend-transform 3", "ciel-bend-value 2.6", "ciel-bend-value 99",  # erode (by index): rounded, clipped
    "ciel-bend-y 0.5",  # y belongs to translate: nothing sent
    "ciel-bend-transform flip_h", "ciel-bend-value 1", "ciel-bend-value 0.3",
    "ciel-bend-transform scale", "ciel-bend-value 0", "ciel-bend-knob 0.5",  # halfway across 0.25..4
    "ciel-bend-transform multiply", "ciel-bend-value -9",
    "ciel-bend-transform threshold", "ciel-bend-value 0.75", "ciel-bend-transform ablate", "ciel-bend-value 2",
    "ciel-bend-transform dilate", "ciel-bend-value 3", "ciel-bend-transform flip_v", "ciel-bend-value 1",
    "ciel-bend-transform invert", "ciel-bend-value 1",
    # the sound net has 3 layers: layer 5 becomes 3; its translate is one float (along frequency)
    "ciel-bend-net sound", "ciel-bend-layer 5", "ciel-bend-transform translate", "ciel-bend-value 0.2",
    "ciel-bend-y 0.3", "ciel-bend-transform multiply", "ciel-bend-value 2",
    "ciel-bend-value 9", "ciel-bend-value -1",  # the spectrum's multiply is a gain, 0..8
    "ciel-bend-layer 1", "ciel-bend-value -1",  # a hidden layer's is -4..4
    "ciel-bend-net 0", "ciel-bend-layer 6", "ciel-bend-transform 2", "ciel-bend-value -30",
]
_I3, _S3, _I6 = "/ciel/bend/image/3/", "/ciel/bend/sound/3/", "/ciel/bend/image/6/"
BEND_PLAYED: list[tuple[str, str, list[Any]]] = [
    (_I3 + "rotate", "f", [45.0]),
    (_I3 + "rotate", "f", [180.0]),
    (_I3 + "translate", "ff", [0.5, 0.0]),  # y back at its neutral 0 on selecting translate
    (_I3 + "translate", "ff", [0.5, -0.25]),
    (_I3 + "translate", "ff", [0.5, 1.0]),
    (_I3 + "erode", "i", [3]),
    (_I3 + "erode", "i", [8]),
    (_I3 + "flip_h", "i", [1]),
    (_I3 + "flip_h", "i", [0]),
    (_I3 + "scale", "f", [0.25]),
    (_I3 + "scale", "f", [2.125]),
    (_I3 + "multiply", "f", [-4.0]),
    (_I3 + "threshold", "f", [0.75]),
    (_I3 + "ablate", "f", [1.0]),
    (_I3 + "dilate", "i", [3]),
    (_I3 + "flip_v", "i", [1]),
    (_I3 + "invert", "i", [1]),
    (_S3 + "translate", "f", [0.2]),
    (_S3 + "multiply", "f", [2.0]),
    (_S3 + "multiply", "f", [8.0]),
    (_S3 + "multiply", "f", [0.0]),
    ("/ciel/bend/sound/1/multiply", "f", [-1.0]),
    (_I6 + "rotate", "f", [-30.0]),
]
BEND_FEATURES_AND_CLEARS = [
    "ciel-bend-layer 2", "ciel-bend-features random 0.5", "ciel-bend-features random 7",
    "ciel-bend-features cluster 2", "ciel-bend-features cluster 0", "ciel-bend-features all",
    # the widgets' own names
    "ciel-bend-all bang", "ciel-bend-random 0.25", "ciel-bend-cluster 3",
    "ciel-bend-net sound", "ciel-bend-features cluster 1",
    "ciel-bend-clear bang", "ciel-bend-clear-image bang", "ciel-bend-clear-sound bang",
]
_F2, _S2 = "/ciel/bend/image/2/features", "/ciel/bend/sound/2/features"
BEND_FEATURES_AND_CLEARS_SENT: list[tuple[str, str, list[Any]]] = [
    (_F2, "sf", ["random", 0.5]),
    (_F2, "sf", ["random", 1.0]),
    (_F2, "si", ["cluster", 2]),  # a cluster id goes as an int
    (_F2, "si", ["cluster", 1]),  # ids start at 1
    (_F2, "s", ["all"]),
    (_F2, "s", ["all"]),
    (_F2, "sf", ["random", 0.25]),
    (_F2, "si", ["cluster", 3]),
    (_S2, "si", ["cluster", 1]),
    ("/ciel/bend/clear", "", []),
    ("/ciel/bend/image/clear", "", []),
    ("/ciel/bend/sound/clear", "", []),
]


def as_oscdump(messages: list[tuple[str, str, list[Any]]]) -> list[tuple[str, str, list[str]]]:
    """How oscdump prints these messages: floats with six decimals, strings quoted."""
    shown = {"f": lambda v: f"{v:.6f}", "i": str, "s": lambda v: f'"{v}"'}
    return [(address, types, [shown[t](v) for t, v in zip(types, args, strict=True)])
            for address, types, args in messages]


def test_pd_bend_sends_each_transform_with_its_type_tags(node: Node, start_pd: Callable[[list[str]], Pd]) -> None:
    pd = start_pd(BEND_PLAY)
    assert bend_messages_sent(node, pd) == as_oscdump(BEND_PLAYED)
    # Clipped values are shown as sent; the layer shows 3 once the sound net is selected.
    for name, value in (("bend-value", "180"), ("bend-value", "8"), ("bend-y", "1"), ("bend-layer", "3"),
                        ("bend-layer", "6"), ("bend-net", "1"), ("bend-transform", "3")):
        pd.wait_printed(f"^shown-{name}: set {value}$")
    pd.assert_healthy()


def test_pd_bend_features_and_clears(node: Node, start_pd: Callable[[list[str]], Pd]) -> None:
    pd = start_pd([*BEND_FEATURES_AND_CLEARS, "ciel-bend-features cluster 2.6",  # rounded
                   "ciel-bend-clear all", "ciel-bend-clear image", "ciel-bend-clear sound"])  # by name
    assert bend_messages_sent(node, pd) == as_oscdump([
        *BEND_FEATURES_AND_CLEARS_SENT, (_S2, "si", ["cluster", 3]),
        ("/ciel/bend/clear", "", []), ("/ciel/bend/image/clear", "", []), ("/ciel/bend/sound/clear", "", []),
    ])
    for name, value in (("bend-random", "1"), ("bend-cluster", "1"), ("bend-cluster", "3")):
        pd.wait_printed(f"^shown-{name}: set {value}$")
    pd.assert_healthy()


def test_pd_bend_shows_the_nodes_bends_without_sending_them_back(
    node: Node, start_pd: Callable[[list[str]], Pd]
) -> None:
    """The node reports each bend as /ciel/state/bend_<net>_<layer>_<transform>: the selected one is shown at once,
    the others are kept and shown when selected."""
    oscsend = require_tool("oscsend")
    pd = start_pd(["ciel-bend-layer 3"])  # image, layer 3, rotate
    for message in (["/ciel/state/bend_image_3_rotate", "f", "45"],
                    ["/ciel/state/bend_image_3_translate", "ff", "0.5", "-0.25"],
                    ["/ciel/state/bend_image_3_rotate", "f", "-30"],  # a newer report replaces the kept one
                    ["/ciel/state/bend_image_3_erode", "i", "4"]):
        subprocess.run([oscsend, "127.0.0.1", str(pd.listen), *message], check=True, timeout=5)
    pd.wait_printed(r"^shown-bend-value: set 45$")
    pd.wait_printed(r"^shown-bend-value: set -30$")
    pd.command("bend-transform translate")
    pd.wait_printed(r"^shown-bend-value: set 0\.5$")
    pd.wait_printed(r"^shown-bend-y: set -0\.25$")
    pd.command("bend-transform erode")
    pd.wait_printed(r"^shown-bend-value: set 4$")
    pd.command("bend-transform rotate")
    end = len(re.findall(r"^shown-bend-value: set -30$", pd.proc.text(), re.M))
    until_sync(lambda: len(re.findall(r"^shown-bend-value: set -30$", pd.proc.text(), re.M)) > end or None, 5.0,
               "the kept rotate shown again", pd.proc.log_so_far)
    # Nothing was sent back; what the patch holds is what a move sends: y stays where the node had it.
    pd.command("bend-transform translate")
    pd.command("bend-value 0.25")
    assert bend_messages_sent(node, pd) == as_oscdump([("/ciel/bend/image/3/translate", "ff", [0.25, -0.25])])
    pd.assert_healthy()


def test_pd_bend_widgets_are_wired(node: Node, start_pd: Callable[[list[str]], Pd]) -> None:
    """A float to each bend widget's receive name makes it output, as a click or a drag would."""
    pd = start_pd([
        "ciel-bend-net-set 1", "ciel-bend-layer-set 2", "ciel-bend-transform-set 6",  # radio, number box, radio
        "ciel-bend-value-set 0.4",  # slider, number box, toggle
        "ciel-bend-net-set 0", "ciel-bend-transform-set 0", "ciel-bend-y-set -0.5",  # slider, number box
        "ciel-bend-random-set 0.25",  # slider, number box
        "ciel-bend-cluster-set 2",  # number box
    ])
    t = ("/ciel/bend/sound/2/threshold", "f", ["0.400000"])
    y = ("/ciel/bend/image/2/translate", "ff", ["0.000000", "-0.500000"])
    r = ("/ciel/bend/image/2/features", "sf", ['"random"', "0.250000"])
    assert bend_messages_sent(node, pd) == [t, t, t, y, y, r, r,
                                            ("/ciel/bend/image/2/features", "si", ['"cluster"', "2"])]
    pd.assert_healthy()


# --- Pd steering section -> node ---------------------------------------------------------------------------------
STEER_ADDRESSES = ("/ciel/xy/", "/ciel/direction/", "/ciel/preset/")


def steer_messages_sent(node: Node, pd: Pd, start: int | None = None) -> list[tuple[str, str, list[str]]]:
    """The steering messages Pd sent from `start` (default: its start-up -send list) to a hello sent now."""
    listen = str(pd.listen)
    start = node.wait_for("/ciel/get", "i", [listen]) + 1 if start is None else start
    pd.command("hello")
    end = node.wait_for("/ciel/get", "i", [listen], after=start)
    return [m for m in node.messages()[start:end] if m[0].startswith(STEER_ADDRESSES)]


# One performance, played on both patches (values with at most three decimals: Max's pad has steps of 1/1000).
# The slot and the glide only select; store, recall, delete and name send, each also taking a slot to select first.
STEER_PLAY = [
    "ciel-xy-sound 0.2 0.7", "ciel-xy-sound-x 1.5",  # clipped to 0..1
    "ciel-xy-image-y -0.25",  # x stays at its load default, 0.5
    "ciel-xy-image 0.3 0.9",
    "ciel-direction-image-2 1.5", "ciel-direction-image-2 9", "ciel-direction-sound-1 -7",  # clipped to -4..4
    "ciel-direction-sound-4 0.25",
    "ciel-preset-slot 3", "ciel-preset-store bang", "ciel-preset-name big storm 2",  # one name
    "ciel-preset-glide 2.5", "ciel-preset-recall bang",
    "ciel-preset-recall 7 700",  # slot 7, the glide clipped to 600 s
    "ciel-preset-store 150", "ciel-preset-delete bang",  # the slot clipped to 99
    "ciel-preset-delete 3",
]
STEER_PLAYED: list[tuple[str, str, list[Any]]] = [
    ("/ciel/xy/sound", "ff", [0.2, 0.7]),
    ("/ciel/xy/sound", "ff", [1.0, 0.7]),
    ("/ciel/xy/image", "ff", [0.5, 0.0]),
    ("/ciel/xy/image", "ff", [0.3, 0.9]),
    ("/ciel/direction/image/2", "f", [1.5]),
    ("/ciel/direction/image/2", "f", [4.0]),
    ("/ciel/direction/sound/1", "f", [-4.0]),
    ("/ciel/direction/sound/4", "f", [0.25]),
    ("/ciel/preset/store", "i", [3]),
    ("/ciel/preset/name", "is", [3, "big storm 2"]),
    ("/ciel/preset/recall", "if", [3, 2.5]),
    ("/ciel/preset/recall", "if", [7, 600.0]),
    ("/ciel/preset/store", "i", [99]),
    ("/ciel/preset/delete", "i", [99]),
    ("/ciel/preset/delete", "i", [3]),
]
def dot(net: str, x: float, y: float) -> str:
    """Where "pos" puts a pad's dot for x y: its 120-pixel square (sound's first in the main window), less the
    dot's 10 pixels, y upwards."""
    pads = re.findall(r"^#X obj (\d+) (\d+) cnv 1 120 120 ", PD_PATCH.read_text(), re.M)
    left, top = (int(v) for v in pads[NETS.index(net)])
    return f"pos {left + int(x * 110)} {top + int(round(1 - y, 6) * 110)}"


def test_pd_steer_sends_xy_directions_and_presets(node: Node, start_pd: Callable[[list[str]], Pd]) -> None:
    pd = start_pd(STEER_PLAY)
    assert steer_messages_sent(node, pd) == as_oscdump(STEER_PLAYED)
    # What was sent is shown: clipped values, the dot on the pad, the selected slot and glide.
    for name, value in (("xy-sound-x", "1"), ("xy-sound-y", "0.7"), ("xy-image-x", "0.5"), ("xy-image-y", "0"),
                        ("direction-image-2", "4"), ("direction-sound-1", "-4"), ("preset-slot", "99"),
                        ("preset-glide", "600"), ("preset-name", "big\\ storm\\ 2"),  # Pd escapes spaces
                        ("xy-sound-dot", dot("sound", 1, 0.7)), ("xy-image-dot", dot("image", 0.3, 0.9))):
        pd.wait_printed(f"^shown-{re.escape(name)}: {'' if name.endswith('dot') else 'set '}{re.escape(value)}$")
    pd.assert_healthy()


def test_pd_steer_shows_the_nodes_xy_without_sending_it_back(
    node: Node, start_pd: Callable[[list[str]], Pd]
) -> None:
    """The node reports xy_<net>, direction_<net>_<k> and the presets: shown on the pads and knobs, never sent back;
    the next move sends what the node had for the other coordinate."""
    oscsend = require_tool("oscsend")
    pd = start_pd([])
    for message in (["/ciel/state/xy_sound", "ff", "0.25", "0.75"], ["/ciel/state/xy_image", "ff", "0.875", "0.125"],
                    ["/ciel/state/direction_sound_2", "f", "1.5"], ["/ciel/state/direction_image_4", "f", "-2"],
                    ["/ciel/state/direction_image_7", "f", "3"],  # no knob for 7: it stops there
                    ["/ciel/state/presets", "s", "0 intro, 3 storm"]):
        subprocess.run([oscsend, "127.0.0.1", str(pd.listen), *message], check=True, timeout=5)
    for name, value in (("xy-sound-x", "0.25"), ("xy-sound-y", "0.75"), ("xy-image-x", "0.875"),
                        ("xy-image-y", "0.125"), ("direction-sound-2", "1.5"), ("direction-image-4", "-2")):
        pd.wait_printed(f"^shown-{name}: set {re.escape(value)}$")
    pd.wait_printed(f"^shown-xy-sound-dot: {dot('sound', 0.25, 0.75)}$")
    pd.wait_printed(f"^shown-xy-image-dot: {dot('image', 0.875, 0.125)}$")
    pd.wait_printed(r"^shown-presets: set 0\\? intro\\?,\\? 3\\? storm$")
    # Nothing was sent back (from the start on, only this move), and the move sends the node's y.
    pd.command("send ciel-xy-sound-x 0.5")
    assert steer_messages_sent(node, pd) == as_oscdump([("/ciel/xy/sound", "ff", [0.5, 0.75])])
    pd.assert_healthy()


def test_pd_steer_widgets_are_wired(node: Node, start_pd: Callable[[list[str]], Pd]) -> None:
    """A value sent to each steering widget's receive name makes it output, as a drag or typing would."""
    pd = start_pd([
        "ciel-xy-sound-x-set 0.4",  # slider and number box: two moves
        "ciel-xy-image-y-set 0.6",
        "ciel-direction-sound-3-set 2", "ciel-direction-image-1-set -1",
        "ciel-preset-slot-set 5", "ciel-preset-glide-set 1.5",  # select only
        "ciel-preset-name-set symbol dawn",
    ])
    s, i = ("/ciel/xy/sound", "ff", [0.4, 0.5]), ("/ciel/xy/image", "ff", [0.5, 0.6])
    d3, d1 = ("/ciel/direction/sound/3", "f", [2.0]), ("/ciel/direction/image/1", "f", [-1.0])
    assert steer_messages_sent(node, pd) == as_oscdump([s, s, i, i, d3, d3, d1, d1,
                                                        ("/ciel/preset/name", "is", [5, "dawn"])])
    mark = len(node.messages())
    pd.command("send ciel-preset-recall")  # what the recall button sends (a bang)
    assert steer_messages_sent(node, pd, mark) == as_oscdump([("/ciel/preset/recall", "if", [5, 1.5])])
    # The buttons are bangs sending to those names.
    buttons = re.findall(r"^#X obj \d+ \d+ bng \d+ \d+ \d+ \d+ (ciel-preset-\w+) ", PD_PATCH.read_text(), re.M)
    assert buttons == ["ciel-preset-store", "ciel-preset-recall", "ciel-preset-delete"]
    pd.assert_healthy()


# --- Max ------------------------------------------------------------------------------------------------------
class MaxPatch:
    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.patcher = data["patcher"]
        self.boxes: dict[str, dict[str, Any]] = {}
        for entry in self.patcher["boxes"]:
            box = entry["box"]
            assert box["id"] not in self.boxes, f"duplicate id {box['id']}"
            self.boxes[box["id"]] = box
        self.lines = [entry["patchline"] for entry in self.patcher["lines"]]
        self.out: dict[str, list[tuple[int, str, int]]] = {bid: [] for bid in self.boxes}
        self.into: dict[str, list[tuple[str, int]]] = {bid: [] for bid in self.boxes}
        for line in self.lines:
            (src, outlet), (dst, inlet) = line["source"], line["destination"]
            if src in self.boxes and dst in self.boxes:
                self.out[src].append((outlet, dst, inlet))
                self.into[dst].append((src, outlet))

    def text(self, bid: str) -> str:
        return str(self.boxes[bid].get("text", ""))

    def _first_word(self, maxclass: str, word: str) -> list[str]:
        return [bid for bid, box in self.boxes.items()
                if box["maxclass"] == maxclass and self.text(bid).split()[:1] == [word]]

    def objects(self, name: str) -> list[str]:
        return self._first_word("newobj", name)

    def messages(self, first_word: str) -> list[str]:
        return self._first_word("message", first_word)

    def is_set(self, bid: str) -> bool:
        return self.text(bid).startswith(("set", "prepend set"))

    def downstream(self, start: str, outlet: int | None = None, honour_set: bool = False) -> set[str]:
        """Boxes reachable from start (from one outlet, or all).

        With honour_set, a box that receives "set ..." (from a [set $1( message or [prepend set]) is reached but
        not walked on from: "set" makes a widget or message box show a value without outputting anything.
        """
        seen: set[str] = set()
        todo = deque((start, dst) for o, dst, _ in self.out[start] if outlet is None or o == outlet)
        while todo:
            src, bid = todo.popleft()
            if bid in seen:
                continue
            seen.add(bid)
            if not (honour_set and self.is_set(src)):
                todo.extend((bid, dst) for _, dst, _ in self.out[bid])
        return seen

    def upstream(self, start: str) -> set[str]:
        seen: set[str] = set()
        todo = deque(src for src, _ in self.into[start])
        while todo:
            bid = todo.popleft()
            if bid not in seen:
                seen.add(bid)
                todo.extend(src for src, _ in self.into[bid])
        return seen

    def classes(self, bids: set[str]) -> set[str]:
        return {self.boxes[b]["maxclass"] if self.boxes[b]["maxclass"] != "newobj" else self.text(b).split()[0]
                for b in bids}


@pytest.fixture(scope="module")
def maxpat() -> MaxPatch:
    return MaxPatch(MAX_PATCH)


def test_max_patch_is_a_well_formed_max8_patcher(maxpat: MaxPatch) -> None:
    p = maxpat.patcher
    assert p["fileversion"] == 1
    assert p["appversion"]["major"] >= 8
    assert len(p["rect"]) == 4
    for bid, box in maxpat.boxes.items():
        for key in ("id", "maxclass", "numinlets", "numoutlets", "patching_rect"):
            assert key in box, f"{bid} has no {key}"
        assert len(box["patching_rect"]) == 4
        if box["maxclass"] in ("newobj", "message", "comment"):
            assert isinstance(box.get("text"), str), f"{bid} ({box['maxclass']}) has no text"
        if box["numoutlets"]:
            assert len(box.get("outlettype", [])) == box["numoutlets"], f"{bid}: outlettype vs numoutlets"
        if box["maxclass"] == "newobj":  # objects whose outlet count follows from their arguments
            words = maxpat.text(bid).split()
            if words[0] in ("route", "t", "trigger", "unpack", "sel", "select"):
                n = len(words) - 1 + (words[0] in ("route", "sel", "select"))
                assert box["numoutlets"] == n, f"{bid} {maxpat.text(bid)!r}: {box['numoutlets']} outlets, not {n}"
            inlets = {  # objects whose inlet count follows from their arguments
                "sel": 2 if len(words) <= 2 else 1, "select": 2 if len(words) <= 2 else 1, "pack": len(words) - 1,
                "sprintf": len(re.findall(r"%(?:s|ld|f|c)", maxpat.text(bid))),
                "expr": max((int(d) for d in re.findall(r"\$[if](\d)", maxpat.text(bid))), default=1),
            }.get(words[0])
            if inlets is not None:
                assert box["numinlets"] == inlets, f"{bid} {maxpat.text(bid)!r}: {box['numinlets']} inlets"
    for line in maxpat.lines:
        (src, outlet), (dst, inlet) = line["source"], line["destination"]
        assert src in maxpat.boxes and dst in maxpat.boxes, f"line to a missing box: {line}"
        assert 0 <= outlet < maxpat.boxes[src]["numoutlets"], f"{src} has no outlet {outlet}: {line}"
        assert 0 <= inlet < maxpat.boxes[dst]["numinlets"], f"{dst} has no inlet {inlet}: {line}"


def test_max_patch_sends_every_controller_address_to_udpsend(maxpat: MaxPatch) -> None:
    (udpsend,) = maxpat.objects("udpsend")
    assert maxpat.text(udpsend).split()[1:] == ["127.0.0.1", "9000"]
    senders = {
        "/ciel/interval": {"slider", "flonum"}, "/ciel/seed": {"number"}, "/ciel/drift": {"slider", "flonum"},
        "/ciel/volume_ceiling": {"slider", "flonum"}, "/ciel/next": {"button"}, "/ciel/playback": {"toggle"},
        "/ciel/subscribe": {"loadbang", "metro"}, "/ciel/get": {"loadbang", "button"},
        "/ciel/unsubscribe": {"button"},
    }
    assert set(senders) == set(CONTROLLER_ADDRESSES)
    for address, sources in senders.items():
        boxes = maxpat.messages(address)
        assert boxes, f"no message box for {address}"
        for bid in boxes:
            assert udpsend in maxpat.downstream(bid), f"{maxpat.text(bid)!r} does not reach udpsend"
            missing = sources - maxpat.classes(maxpat.upstream(bid))
            assert not missing, f"{address} is not driven by {missing}"
        args = maxpat.text(boxes[0]).split()[1:]
        assert args == ([] if address == "/ciel/next" else ["$1"]), f"{address} args {args}"
    # host and port can be changed from the patch
    for first, value in (("host", "127.0.0.1"), ("port", "9000")):
        assert any(maxpat.text(b).split()[1:] == [value] and udpsend in maxpat.downstream(b)
                   for b in maxpat.messages(first)), f"no [{first} {value}( into udpsend"


def test_max_patch_routes_feedback_to_the_widgets_and_never_back(maxpat: MaxPatch) -> None:
    (udpsend,) = maxpat.objects("udpsend")
    (udpreceive,) = maxpat.objects("udpreceive")
    assert maxpat.text(udpreceive).split()[1:] == ["9001"]
    routes = [dst for _, dst, _ in maxpat.out[udpreceive] if maxpat.text(dst).startswith("route ")]
    assert len(routes) == 1, "udpreceive should feed one route"
    (route,) = routes
    addresses = maxpat.text(route).split()[1:]
    wanted = {f"/ciel/state/{n}": {"interval": {"slider", "flonum"}, "seed": {"number"},
                                   "drift": {"slider", "flonum"}, "volume_ceiling": {"slider", "flonum"},
                                   "playback": {"toggle"}}[n] for n in STATE_NAMES}
    wanted["/ciel/piece"] = {"number"}
    wanted["/ciel/error"] = {"message"}
    for address, widgets in wanted.items():
        assert address in addresses, f"{address} is not routed"
        outlet = addresses.index(address)
        # Everything the feedback can set off, knowing that "set" shows a value without outputting it.
        reached = maxpat.downstream(route, outlet, honour_set=True)
        assert udpsend not in reached, f"{address} feedback would be sent back to the node"
        shown = {b for b in reached if maxpat.boxes[b]["maxclass"] in widgets and not maxpat.is_set(b)}
        assert shown, f"{address} is not shown on a {widgets}"
        for bid in shown:  # each widget is updated with set, so it does not output
            feeders = [src for src, _ in maxpat.into[bid] if src in reached]
            assert feeders and all(maxpat.is_set(src) for src in feeders), (
                f"{address} reaches {maxpat.boxes[bid]['maxclass']} {bid} without 'set'")
    # The subscription is renewed by a metro started at load.
    (metro,) = maxpat.objects("metro")
    assert maxpat.text(metro).split()[1:] == ["5000"]
    assert "loadbang" in maxpat.classes(maxpat.upstream(metro))


# --- Max bending section: its messages, simulated ---------------------------------------------------------------
Atom = int | float | str


class MaxRun:
    """Runs a Max patcher's message passing for the objects the bending section uses, as Max documents them.

    Max cannot run here; this plays the patch's wiring so that the bend section is checked to build the same
    messages as the Pd patch. A message is a tuple of atoms: () is a bang, ("symbol", s) a symbol; ints and floats
    keep their Max types, which udpsend turns into OSC's i and f. An object outside this set fails the test.
    """

    def __init__(self, maxpat: MaxPatch) -> None:
        self.p = maxpat
        self.sent: list[tuple[str, str, list[Any]]] = []
        self.state: dict[str, dict[str, Any]] = {bid: {} for bid in maxpat.boxes}
        self.named = {box["varname"]: bid for bid, box in maxpat.boxes.items() if "varname" in box}

    # -- driving
    def widget(self, name: str, *msg: Atom) -> None:
        self.receive(self.named[name], 0, tuple(msg))

    def out(self, bid: str, outlet: int, msg: tuple[Atom, ...]) -> None:
        # Max fires one outlet's connections right to left, by the destination's place
        lines = sorted(((dst, inlet) for o, dst, inlet in self.p.out[bid] if o == outlet),
                       key=lambda d: -self.p.boxes[d[0]]["patching_rect"][0])
        for dst, inlet in lines:
            self.receive(dst, inlet, msg)

    # -- the objects
    @staticmethod
    def _atom(word: str) -> Atom:
        if re.fullmatch(r"-?\d+", word):
            return int(word)
        if re.fullmatch(r"-?(\d+\.\d*|\.\d+|\d+\.)", word):
            return float(word)
        return word

    @staticmethod
    def _number(msg: tuple[Atom, ...]) -> float | int:
        value = msg[-1] if msg[:1] == ("set",) else msg[0]
        assert isinstance(value, (int, float)), f"a number was expected, not {msg}"
        return value

    def receive(self, bid: str, inlet: int, msg: tuple[Atom, ...]) -> None:
        box, st = self.p.boxes[bid], self.state[bid]
        kind = box["maxclass"]
        is_set = msg[:1] == ("set",)
        if kind == "message":
            if is_set:
                st["text"] = " ".join(str(a) for a in msg[1:])
                return
            words = [self._atom(w) for w in st.get("text", box.get("text", "")).split()]
            out = tuple(msg[int(w[1:]) - 1] if isinstance(w, str) and re.fullmatch(r"\$\d", w) else w for w in words)
            self.out(bid, 0, out)
        elif kind == "button":
            self.out(bid, 0, ())
        elif kind in ("number", "flonum", "toggle", "slider", "dial", "umenu"):
            if msg == ():
                value = st.get("value", 0)
            else:
                value = self._number(msg)
                if kind in ("number", "flonum"):
                    lo, hi = box.get("minimum"), box.get("maximum")
                    value = value if lo is None else max(lo, value)
                    value = value if hi is None else min(hi, value)
                elif kind in ("slider", "dial"):
                    value = min(max(box.get("min", 0), value), box.get("min", 0) + box["size"])
                elif kind == "umenu":
                    value = min(max(0, int(value)), len([i for i in box["items"] if i != ","]) - 1)
                as_float = kind == "flonum" or (kind in ("slider", "dial") and box.get("floatoutput"))
                value = float(value) if as_float else int(value)
            st["value"] = value
            if not is_set:
                self.out(bid, 0, (value,))
        elif kind == "pictslider":  # a 2-D pad: ints over leftvalue..rightvalue (x), bottomvalue..topvalue (y)
            x, y = st.get("xy", (box["leftvalue"], box["bottomvalue"]))
            if len(msg) >= 2:  # a list (or a drag): both
                x, y = msg[0], msg[1]
            elif msg != () and inlet == 0:
                x = msg[0]
            elif msg != ():
                y = msg[0]
            x = int(min(max(box["leftvalue"], x), box["rightvalue"]))  # type: ignore[type-var]
            y = int(min(max(box["bottomvalue"], y), box["topvalue"]))  # type: ignore[type-var]
            st["xy"] = (x, y)
            self.out(bid, 1, (y,))  # right to left, as Max outputs
            self.out(bid, 0, (x,))
        elif kind == "textedit":  # what comes in is kept without output; typing and Return output it (type_text)
            if msg == ():
                self.out(bid, 0, ("text", *st.get("words", ())))
            else:
                st["words"] = msg[1:] if is_set else msg
        elif kind == "newobj":
            self._object(bid, inlet, msg)
        else:
            raise AssertionError(f"{bid}: no model for a {kind}")

    def type_text(self, name: str, words: list[str]) -> None:
        """Typing into a textedit and pressing Return: it outputs text and the words."""
        self.state[self.named[name]]["words"] = tuple(words)
        self.out(self.named[name], 0, ("text", *words))

    def _object(self, bid: str, inlet: int, msg: tuple[Atom, ...]) -> None:
        st = self.state[bid]
        name, *args = self.p.text(bid).split()
        argv = [self._atom(a) for a in args]
        if name in ("t", "trigger"):
            for outlet in reversed(range(len(args))):
                how = args[outlet]
                self.out(bid, outlet, () if how == "b" else (int(self._number(msg)),) if how == "i"
                         else (float(self._number(msg)),) if how == "f" else msg)
        elif name == "i":
            if inlet == 1:
                st["v"] = int(self._number(msg))
                return
            if msg != ():
                st["v"] = int(self._number(msg))
            self.out(bid, 0, (st.get("v", argv[0] if argv else 0),))
        elif name in ("+", "==", "maximum", "clip", "scale"):
            slots = st.setdefault("args", list(argv) or [0])  # [+] alone adds 0
            if inlet > 0:
                slots[inlet - 1] = self._number(msg)
                return
            x = self._number(msg)
            result: Any = {"+": lambda: x + slots[0], "==": lambda: int(x == slots[0]),
                           "maximum": lambda: max(x, slots[0]), "clip": lambda: min(max(x, slots[0]), slots[1]),
                           "scale": lambda: slots[2] + (x - slots[0]) * (slots[3] - slots[2]) / (slots[1] - slots[0]),
                           }[name]()
            floats = any(isinstance(a, float) for a in slots) or name == "scale"
            self.out(bid, 0, (float(result) if floats else int(result),))
        elif name == "expr":
            values = st.setdefault("in", {})
            values[inlet + 1] = self._number(msg)
            expression = re.sub(r"\$i(\d)", lambda m: f"int(v.get({m[1]}, 0))", " ".join(args))
            expression = re.sub(r"\$f(\d)", lambda m: f"float(v.get({m[1]}, 0))", expression)
            if inlet == 0:  # the text is the shipped patch's own, and only int/float are in reach
                result = eval(expression, {"int": int, "float": float, "v": values, "__builtins__": {}})
                self.out(bid, 0, (float(result) if isinstance(result, float) else int(result),))
        elif name in ("sel", "select"):
            x = self._number(msg)
            hits = [i for i, a in enumerate(argv) if a == x]
            self.out(bid, hits[0], ()) if hits else self.out(bid, len(argv), msg)
        elif name == "gate":  # [gate n open-at-start]
            if inlet == 0:
                st["open"] = int(self._number(msg))
            elif opened := int(st.get("open", argv[1] if len(argv) > 1 else 0)):
                self.out(bid, opened - 1, msg)
        elif name == "pack":
            slots = st.setdefault("slots", list(argv))
            if msg != ():
                value = msg[1] if msg[:1] == ("symbol",) else msg[0]
                template = argv[inlet]
                slots[inlet] = (int(value) if isinstance(template, int) else float(value)  # type: ignore[arg-type]
                                if isinstance(template, float) else value)
            if inlet == 0:
                self.out(bid, 0, tuple(slots))
        elif name == "unpack":  # as many outlets fire as the message has atoms
            for outlet in reversed(range(min(len(argv), len(msg)))):
                template, value = argv[outlet], msg[outlet]
                self.out(bid, outlet, (int(value),) if isinstance(template, int) else (float(value),)
                         if isinstance(template, float) else ("symbol", value))
        elif name == "sprintf":
            assert args[0] == "symout", "only sprintf symout is modelled"
            fmt = args[1]
            values = st.setdefault("in", {})
            values[inlet] = msg[1] if msg[:1] == ("symbol",) else msg[0]
            if inlet == 0:
                specs = re.findall(r"%(s|ld)", fmt)
                text = re.sub(r"%(s|ld)", "{}", fmt).format(*(values.get(i, 0) for i in range(len(specs))))
                self.out(bid, 0, ("symbol", text))
        elif name == "route":  # the feedback's: an address and its values
            hits = [i for i, a in enumerate(args) if msg[:1] == (a,)]
            self.out(bid, hits[0], msg[1:]) if hits else self.out(bid, len(args), msg)
        elif name == "coll":
            data = st.setdefault("data", {})
            if msg[:1] == ("symbol",):  # look up: the data stored at that symbol, if any
                if msg[1] in data:
                    self.out(bid, 0, data[msg[1]])
            else:  # a symbol followed by data: stored at that symbol
                assert msg and isinstance(msg[0], str), f"coll got {msg}"
                data[msg[0]] = msg[1:]
        elif name == "udpsend":
            address, *rest = msg
            assert isinstance(address, str) and address.startswith("/"), f"udpsend got {msg}"
            types = "".join("i" if isinstance(a, int) else "f" if isinstance(a, float) else "s" for a in rest)
            self.sent.append((address, types, rest))
        elif name == "loadbang":
            self.out(bid, 0, ())
        elif name == "prepend":
            self.out(bid, 0, (*argv, *msg))
        elif name == "tosymbol":  # the words as one symbol, spaces between
            words = msg[1:] if msg[:1] == ("symbol",) else msg
            self.out(bid, 0, ("symbol", " ".join(str(w) for w in words)))
        else:
            raise AssertionError(f"{bid}: no model for [{self.p.text(bid)}]")

    def play(self, pd_sends: list[str]) -> None:
        """The Pd patch's receive-name messages, done on the Max patch's widgets."""
        for line in pd_sends:
            name, *words = line.split()
            what = name.removeprefix("ciel-bend-")
            if what == "net":
                self.widget("bend-net", {"image": 0, "sound": 1}.get(words[0]) or int(words[0]))
            elif what == "transform":
                index = BEND_TRANSFORMS.index(words[0]) if words[0] in BEND_TRANSFORMS else int(words[0])
                self.widget("bend-transform", index)
            elif what in ("layer", "cluster"):
                self.widget(f"bend-{what}", int(words[0]))
            elif what in ("value", "y", "random"):
                self.widget(f"bend-{what}", float(words[0]))
            elif what == "knob":  # Max's value slider is the knob: 0..1 across the range
                self.widget("bend-value-slider", float(words[0]))
            elif what == "features":
                self.widget(f"bend-{words[0]}", *((int(words[1]) if words[0] == "cluster" else float(words[1]),)
                                                  if words[0] != "all" else ()))
            elif what in ("all", "clear", "clear-image", "clear-sound"):
                self.widget(f"bend-{what}")
            else:
                raise AssertionError(f"no Max widget for {line!r}")


@pytest.fixture
def max_bend(maxpat: MaxPatch) -> MaxRun:
    run = MaxRun(maxpat)
    assert "bend-loadbang" in run.named, "the Max patch has no bending section (no box named bend-loadbang)"
    run.widget("bend-loadbang")
    assert run.sent == [], "selecting at load must send nothing"
    return run


def test_max_bend_sends_what_the_pd_patch_sends(max_bend: MaxRun) -> None:
    # the menus name the transforms in the order of the Pd radio
    items = [i for i in max_bend.p.boxes[max_bend.named["bend-transform"]]["items"] if i != ","]
    assert tuple(items) == BEND_TRANSFORMS
    max_bend.play(BEND_PLAY)
    assert max_bend.sent == BEND_PLAYED
    max_bend.sent.clear()
    max_bend.widget("bend-net", 0)
    max_bend.play(BEND_FEATURES_AND_CLEARS)
    assert max_bend.sent == BEND_FEATURES_AND_CLEARS_SENT


def test_max_bend_widgets_show_the_clipped_values_and_load_defaults(max_bend: MaxRun) -> None:
    shown = lambda name: max_bend.state[max_bend.named[name]]["value"]  # noqa: E731
    # at load: image, layer 1, rotate at its neutral 0 (the slider in the middle of -180..180)
    assert (shown("bend-net"), shown("bend-layer"), shown("bend-transform"), shown("bend-value")) == (0, 1, 2, 0.0)
    assert shown("bend-value-slider") == 0.5
    assert (shown("bend-random"), shown("bend-cluster")) == (0.5, 1)
    max_bend.play(["ciel-bend-value 400", "ciel-bend-net sound", "ciel-bend-layer 5", "ciel-bend-transform scale"])
    assert (shown("bend-value"), shown("bend-layer")) == (1.0, 3)  # scale's neutral; the sound net's last layer
    max_bend.widget("bend-value-slider", 1.0)  # the slider's top is the transform's top
    assert max_bend.sent[-1] == ("/ciel/bend/sound/3/scale", "f", [4.0]) and shown("bend-value") == 4.0


def test_max_bend_shows_the_nodes_bends_without_sending_them_back(max_bend: MaxRun) -> None:
    """The same reports as the Pd test, into the feedback route: the selected bend is shown, the others kept."""
    p = max_bend.p
    (udpreceive,) = p.objects("udpreceive")
    (route,) = [dst for _, dst, _ in p.out[udpreceive] if p.text(dst).startswith("route ")]
    shown = lambda name: max_bend.state[max_bend.named[name]]["value"]  # noqa: E731
    max_bend.play(["ciel-bend-layer 3"])  # image, layer 3, rotate
    max_bend.receive(route, 0, ("/ciel/state/bend_image_3_rotate", 45.0))
    assert shown("bend-value") == 45.0
    for report in (("/ciel/state/bend_image_3_translate", 0.5, -0.25), ("/ciel/state/bend_image_3_rotate", -30.0),
                   ("/ciel/state/bend_image_3_erode", 4)):
        max_bend.receive(route, 0, report)
    assert shown("bend-value") == -30.0
    max_bend.play(["ciel-bend-transform translate"])
    assert (shown("bend-value"), shown("bend-y")) == (0.5, -0.25)
    max_bend.play(["ciel-bend-transform erode"])
    assert shown("bend-value") == 4.0
    max_bend.play(["ciel-bend-layer 4"])  # nothing reported there: its off value
    assert shown("bend-value") == 0.0
    assert max_bend.sent == [], "the node's bends were sent back to it"
    # what the stores now hold is what a move sends: y stays where the node had it
    max_bend.play(["ciel-bend-layer 3", "ciel-bend-transform translate", "ciel-bend-value 0.25"])
    assert max_bend.sent == [("/ciel/bend/image/3/translate", "ff", [0.25, -0.25])]


# --- Max steering section: the same performance, simulated -------------------------------------------------------
def play_steer(run: MaxRun, pd_sends: list[str]) -> None:
    """STEER_PLAY's receive-name messages, done on the Max patch's widgets (a pad pair is a drag to that point)."""
    for line in pd_sends:
        name, *words = line.split()
        what = name.removeprefix("ciel-")
        if re.fullmatch(r"xy-(sound|image)", what):
            run.widget(what, *(round(float(w) * 1000) for w in words))
        elif re.fullmatch(r"xy-(sound|image)-[xy]|direction-(sound|image)-[1-4]|preset-glide", what):
            run.widget(what, float(words[0]))
        elif what == "preset-slot":
            run.widget(what, int(words[0]))
        elif what in ("preset-store", "preset-recall", "preset-delete"):
            if words and words != ["bang"]:  # a slot (and a glide) first
                run.widget("preset-slot", int(words[0]))
                if len(words) > 1:
                    run.widget("preset-glide", float(words[1]))
            run.widget(what)
        elif what == "preset-name":
            run.type_text(what, words)
        else:
            raise AssertionError(f"no Max widget for {line!r}")


@pytest.fixture
def max_steer(maxpat: MaxPatch) -> MaxRun:
    run = MaxRun(maxpat)
    assert "steer-loadbang" in run.named, "the Max patch has no steering section (no box named steer-loadbang)"
    run.widget("steer-loadbang")
    assert run.sent == [], "the load defaults must send nothing"
    return run


def feedback_route(run: MaxRun) -> str:
    (udpreceive,) = run.p.objects("udpreceive")
    (route,) = [dst for _, dst, _ in run.p.out[udpreceive] if run.p.text(dst).startswith("route ")]
    return route


def test_max_steer_sends_what_the_pd_patch_sends(max_steer: MaxRun) -> None:
    assert max_steer.p.boxes[max_steer.named["xy-sound"]]["maxclass"] == "pictslider"  # a real 2-D pad
    play_steer(max_steer, STEER_PLAY)
    assert max_steer.sent == STEER_PLAYED


def test_max_steer_widgets_show_what_they_send_and_load_defaults(max_steer: MaxRun) -> None:
    shown = lambda name: max_steer.state[max_steer.named[name]]["value"]  # noqa: E731
    pad = lambda net: max_steer.state[max_steer.named[f"xy-{net}"]]["xy"]  # noqa: E731
    # at load: both pads in the middle, the knobs at 0
    assert (pad("sound"), pad("image")) == ((500, 500), (500, 500))
    assert (shown("xy-sound-x"), shown("xy-sound-y"), shown("xy-image-x"), shown("xy-image-y")) == (0.5,) * 4
    assert all(shown(f"direction-{net}-{k}") == 0.0 == shown(f"direction-{net}-{k}-dial")
               for net in NETS for k in range(1, 5))
    # a drag on the pad sends and shows both; a number box moves the pad
    max_steer.widget("xy-image", 250, 1000)
    max_steer.widget("xy-image-y", -3.0)
    assert max_steer.sent == [("/ciel/xy/image", "ff", [0.25, 1.0]), ("/ciel/xy/image", "ff", [0.25, 0.0])]
    assert (pad("image"), shown("xy-image-x"), shown("xy-image-y")) == ((250, 0), 0.25, 0.0)
    # a knob sends and its number box shows it
    max_steer.sent.clear()
    max_steer.widget("direction-sound-3-dial", 2.0)
    assert max_steer.sent == [("/ciel/direction/sound/3", "f", [2.0])] and shown("direction-sound-3") == 2.0


def test_max_steer_shows_the_nodes_xy_without_sending_it_back(max_steer: MaxRun) -> None:
    """The same reports as the Pd test, into the feedback route: shown on the pads, knobs and listing, never sent;
    the next move sends what the node had for the other coordinate."""
    route = feedback_route(max_steer)
    shown = lambda name: max_steer.state[max_steer.named[name]]["value"]  # noqa: E731
    for report in (("/ciel/state/xy_sound", 0.25, 0.75), ("/ciel/state/xy_image", 0.875, 0.125),
                   ("/ciel/state/direction_sound_2", 1.5), ("/ciel/state/direction_image_4", -2.0),
                   ("/ciel/state/direction_image_7", 3.0), ("/ciel/state/presets", "0 intro, 3 storm")):
        max_steer.receive(route, 0, report)
    assert max_steer.state[max_steer.named["xy-sound"]]["xy"] == (250, 750)
    assert (shown("xy-sound-x"), shown("xy-sound-y"), shown("xy-image-x"), shown("xy-image-y")) == (
        0.25, 0.75, 0.875, 0.125)
    assert shown("direction-sound-2") == 1.5 == shown("direction-sound-2-dial")
    assert shown("direction-image-4") == -2.0 == shown("direction-image-4-dial")
    assert max_steer.state[max_steer.named["presets"]]["text"] == "0 intro, 3 storm"
    assert max_steer.sent == [], "the node's reports were sent back to it"
    max_steer.widget("xy-sound-x", 0.5)
    assert max_steer.sent == [("/ciel/xy/sound", "ff", [0.5, 0.75])]
