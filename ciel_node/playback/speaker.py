"""The audio device: a sounddevice stream whose callback only copies blocks from a ring the engine fills.

The callback runs on PortAudio's thread. It takes no lock, allocates nothing of size and never calls
the model: it copies one preallocated slot into the device buffer (scaled down at once if the
ceiling was lowered after the slot was written), or writes silence and counts an underrun. The
engine's thread resamples the sound to the device's own rate (so PortAudio and the sound server
pass our samples through as they are), cuts it into slots and tracks the device's health: a stream
that finishes by itself or whose callback stops being called is lost, and is reopened when the
device is back (PortAudio is re-initialised to see devices that came or went).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ciel_node.playback.upsample import resampler

log = logging.getLogger(__name__)

# One callback's worth of sound, by default (engine_period_s). The device's output lag is three of them with
# PulseAudio's ALSA plugin (measured: 15/30/60 ms at 5/10/20 ms), and a control that cuts in waits for up to two more:
# the period is most of every control's latency. 5 ms against 10: a seed heard 35 ms after the engine reads it, not 57;
# 1.5 % of a core more (200 callbacks a second); a host that stops the machine for over 15 ms (not 30) makes PortAudio
# play silence (xruns in health: then 0.01).
BLOCK_S = 0.005
RING_S = 0.64  # ring capacity: more than the lead ever asks for
SILENT_S = 1.0  # no callback for this long while open: the device is gone
RETRY_S = 1.0  # between attempts to open a missing or lost device
STARTED_AFTER = 20  # callbacks: a stream that made this many is running (the watchdog's start)


@dataclass(frozen=True)
class Mark:
    """Where the speaker's stream stood before a block was written: what rewind() needs to write from there again."""

    stream: int  # which stream (Speaker.opened): a mark of an earlier stream is no use
    produced: int  # device samples made of them (slots written and the part-filled slot)
    resampler: np.ndarray  # the resampler's state


def _sd() -> Any:
    """sounddevice, imported late: without PortAudio installed it raises OSError, which means no device."""
    import sounddevice

    return sounddevice


def output_devices() -> list[dict[str, Any]]:
    """PortAudio's output devices as plain dicts (index, name, host API, channels, rate, default)."""
    try:
        sd = _sd()
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default = sd.default.device[1]
    except (OSError, Exception):  # no PortAudio library, or PortAudio failing to start: no devices
        return []
    out = []
    for d in devices:
        if d["max_output_channels"] > 0:
            out.append({
                "index": d["index"], "name": d["name"], "hostapi": apis[d["hostapi"]]["name"],
                "channels": d["max_output_channels"], "samplerate": d["default_samplerate"],
                "default": d["index"] == default,
            })
    return out


def print_devices() -> int:
    """`ciel-node devices`: what --audio-device can name."""
    devices = output_devices()
    if not devices:
        print("no audio output devices (PortAudio lists none); `ciel-node run` plays nothing and publishes as usual")
        return 0
    for d in devices:
        mark = "*" if d["default"] else " "
        print(f"{mark} {d['index']:>3}  {d['name']}  ({d['hostapi']}, {d['channels']} ch, {d['samplerate']:g} Hz)")
    print("* the default; pass --audio-device INDEX or a unique part of a name")
    return 0


def resolve(device: str | int | None, devices: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The device a --audio-device value names: an index, an exact name, or a unique part of a name."""
    if not devices:
        return None
    if device is None or device == "":
        return next((d for d in devices if d["default"]), devices[0])
    if isinstance(device, int) or (isinstance(device, str) and device.isdigit()):
        return next((d for d in devices if d["index"] == int(device)), None)
    exact = [d for d in devices if d["name"] == device]
    if exact:
        return exact[0]
    part = [d for d in devices if str(device).lower() in d["name"].lower()]
    return part[0] if len(part) == 1 else None


def reinit_portaudio() -> None:
    """Re-scan the devices: PortAudio lists them once, when it starts."""
    try:
        sd = _sd()
        sd._terminate()
        sd._initialize()
    except Exception as e:  # noqa: BLE001 - a failing re-scan is the same as no device
        log.debug("PortAudio re-initialisation failed: %s", e)


def policy_name(policy: int | None) -> str | None:
    """os.SCHED_RR -> "SCHED_RR" (None stays None)."""
    names = {getattr(os, n, None): n for n in ("SCHED_OTHER", "SCHED_BATCH", "SCHED_IDLE", "SCHED_FIFO", "SCHED_RR")}
    return None if policy is None else names.get(policy, str(policy))


class Speaker:
    """One output device, opened on demand, its state kept for the node's health data."""

    def __init__(self, device: str | int | None, source_rate: int, lead_s: float,
                 say: Callable[[int, str], None], period_s: float = BLOCK_S) -> None:
        self.device, self.source_rate, self.lead_s = device, source_rate, lead_s
        self.period_s = period_s  # the callback's period: a slot of the ring
        self.slots = max(16, round(RING_S / period_s))
        self.say = say  # log through the node: (level, message)
        self.state = "off"  # off | none | open | lost
        self.name: str | None = None
        self.rate = 0
        self.block = 0
        self.stream: Any = None
        self.ring = np.zeros((self.slots, 0), np.float32)
        self.slot_ceiling = np.ones(self.slots)
        # When the callback took each slot, and how long after that PortAudio predicted its output (see played); by
        # ring index, with the slot's number so a lap of the ring is not taken for it.
        self.slot_taken_at, self.slot_lag = np.zeros(self.slots), np.zeros(self.slots)
        self.slot_number = np.full(self.slots, -1, np.int64)
        self.written = 0  # slots written (engine thread only)
        self.read = 0  # slots played (callback only)
        self.ceiling = 1.0  # the ceiling now, linear; read by the callback
        self.underruns = 0  # the ring was empty when the device asked
        self.xruns = 0  # PortAudio's own output underflow flags
        self.callbacks = 0
        self.callback_gap = 0.0
        self.last_callback = 0.0
        self.device_latency_s = 0.0  # what PortAudio says of the stream (stream.latency)
        # From the callback taking a slot to its first sample's output, as PortAudio predicts it in each callback
        # (outputBufferDacTime - currentTime): the device term of every latency. With PulseAudio's ALSA plugin at
        # latency="low" it is a period more than stream.latency (30 against 20 ms here).
        self.output_lag_s = 0.0
        self.callback_policy: int | None = None  # the callback thread's scheduling policy, read on its first call
        self.resampler_held = 0.0  # the most the resampler has held back on this stream, in device samples
        self.opened = 0
        self.lost = 0
        self._finished = False
        self._next_try = 0.0
        self._resampler: Any = None
        self._skip = 0  # device samples a rewind's re-written sound starts with that are already in the ring
        self._staging = np.zeros(0, np.float32)  # the start of the next slot, written under _staging_ceiling
        self._staging_ceiling = 1.0
        self._said_none = False
        self._lost_at: float | None = None
        self._opener: threading.Thread | None = None

    # --- the callback (PortAudio's thread) -------------------------------------------------
    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        self.callbacks += 1
        now = time.monotonic()
        if self.callbacks > STARTED_AFTER and now - self.last_callback > self.callback_gap:
            self.callback_gap = now - self.last_callback  # late: the device played what it had, or silence
        self.last_callback = now
        if self.callbacks == 1:  # one syscall per stream: did PortAudio's thread inherit the opener's real-time?
            self.callback_policy = os.sched_getscheduler(0)
        if status.output_underflow:
            self.xruns += 1
        if self.read >= self.written or frames != self.block:
            outdata.fill(0.0)
            if self.read:  # before the first slot is just the stream starting
                self.underruns += 1
            return
        i = self.read % self.slots
        # PortAudio's prediction of when this buffer's first sample is output, on its own clock: as a delay from now.
        lag = getattr(_time, "outputBufferDacTime", 0.0) - getattr(_time, "currentTime", 0.0)
        self.output_lag_s = lag if 0.0 < lag < 1.0 else self.device_latency_s
        self.slot_taken_at[i], self.slot_lag[i] = now, self.output_lag_s
        self.slot_number[i] = self.read
        gain = self.ceiling / self.slot_ceiling[i]
        if gain < 1.0:  # the ceiling came down after this slot was written: at once
            np.multiply(self.ring[i], gain, out=outdata[:, 0])
        else:
            outdata[:, 0] = self.ring[i]
        if outdata.shape[1] > 1:
            outdata[:, 1:] = outdata[:, :1]
        self.read += 1

    def _on_finished(self) -> None:
        self._finished = True

    # --- the engine's side ------------------------------------------------------------------
    def want(self, on: bool) -> None:
        """Called by the engine every turn: open, keep, close or re-try the device."""
        now = time.monotonic()
        if not on:
            if self.stream is not None:
                self._close()
            self.state = "off"
            return
        if self.state == "open":
            # A stream's first callbacks come, then nothing for up to ~2 s while the server starts it.
            silent = self.callbacks > STARTED_AFTER and now - self.last_callback > SILENT_S
            if self._finished or silent or not self.stream.active:
                why = "its stream stopped" if self._finished or not self.stream.active else "no callback for 1 s"
                self.say(logging.WARNING, f"audio device {self.name!r} lost ({why}); sound goes on being made and "
                                          "published, and plays again when the device is back")
                self._close()
                self.state, self._lost_at, self._next_try = "lost", now, now + RETRY_S
                self.lost += 1
            return
        if now < self._next_try or (self._opener is not None and self._opener.is_alive()):
            return
        self._next_try = now + RETRY_S
        # Opening can take a while on a sound server that is coming back: off the engine's thread, which
        # goes on making the sound meanwhile.
        self._opener = threading.Thread(target=self._try_open, name="ciel-audio-open", daemon=True)
        self._opener.start()

    def _try_open(self) -> None:
        if self.state != "off" or self.opened:
            reinit_portaudio()  # a device that came back, or a first one plugged in, is only seen after this
        self._open()

    def _open(self) -> None:
        devices = output_devices()
        dev = resolve(self.device, devices)
        if dev is None:
            if self.state == "off" and not self._said_none:
                names = ", ".join(f"{d['index']}: {d['name']}" for d in devices) or "none at all"
                wanted = "no audio output device" if self.device is None else f"no audio device {self.device!r}"
                self.say(logging.WARNING, f"{wanted} (PortAudio lists: {names}); running headless: pieces are made "
                                          "and published, nothing plays here; a device that appears is picked up")
                self._said_none = True
            if self.state != "lost":
                self.state = "none"
            return
        sd = _sd()
        stream, err = None, None
        # 48 kHz first: what sound servers and most interfaces run at, so nothing resamples after us.
        for rate in dict.fromkeys((48000, int(dev["samplerate"] or 48000))):
            self._prepare(rate)
            try:
                stream = sd.OutputStream(
                    device=dev["index"], samplerate=rate, channels=min(2, dev["channels"]), dtype="float32",
                    blocksize=self.block, latency="low", callback=self._callback, finished_callback=self._on_finished,
                )
                stream.start()
                break
            except Exception as e:  # noqa: BLE001 - PortAudioError and friends: the next rate, or later
                stream, err = None, e
        if stream is None:
            if self.state != "lost":
                self.state = "none"
            self.say(logging.DEBUG, f"could not open audio device {dev['name']!r}: {err}")
            return
        self.stream, self.name = stream, dev["name"]
        self.device_latency_s = float(stream.latency)
        self.opened += 1
        back = "" if self._lost_at is None else f" (back after {time.monotonic() - self._lost_at:.1f} s)"
        self.say(logging.INFO, f"playing on audio device {dev['index']}: {dev['name']!r} at {rate} Hz, "
                               f"device latency {1000 * self.device_latency_s:.0f} ms{back}")
        self.state, self._lost_at, self._said_none = "open", None, False

    def _prepare(self, rate: int) -> None:
        """An empty ring and a fresh resampler for a stream at `rate`, before it starts calling back."""
        self.block, self.rate = int(round(rate * self.period_s)), rate
        self.ring = np.zeros((self.slots, self.block), np.float32)
        self.slot_ceiling = np.ones(self.slots)
        self.slot_taken_at, self.slot_lag = np.zeros(self.slots), np.zeros(self.slots)
        self.slot_number = np.full(self.slots, -1, np.int64)
        self.written = self.read = 0
        self._skip = 0
        self._staging, self._staging_ceiling = np.zeros(0, np.float32), 1.0
        self._resampler = resampler(self.source_rate, rate)  # 16 -> 48 kHz: exact, 3 ms late (upsample.py)
        self._finished = False
        self.callbacks = 0
        self.callback_gap = 0.0  # the longest time between two callbacks once running (a period)
        self.callback_policy = None
        self.output_lag_s = 0.0
        self.resampler_held = 0.0
        self.last_callback = time.monotonic()

    def _close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is None:
            return

        def close() -> None:
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except Exception:  # noqa: BLE001 - a dead device may refuse to close; it is dropped anyway
                pass

        # A stream on a vanished server can block in close(); never let that stop the engine.
        t = threading.Thread(target=close, name="ciel-audio-close", daemon=True)
        t.start()
        t.join(2.0)

    def queued_s(self) -> float:
        """Sound written and not yet handed to the device."""
        if self.state != "open" or not self.rate:
            return 0.0
        return ((self.written - self.read) * self.block + len(self._staging)) / self.rate

    @property
    def can_rewind(self) -> bool:
        """Whether rewind() can work on this stream (mark() gives a mark)."""
        return self.state == "open" and hasattr(self._resampler, "snapshot")

    def mark(self) -> Mark | None:
        """Where the stream stands, for a later rewind(); None where it cannot rewind (no stream, or libsoxr's
        resampler, whose state cannot be copied: a device at a rate that is not a multiple of the sound's)."""
        snapshot = getattr(self._resampler, "snapshot", None)
        if self.state != "open" or snapshot is None:
            return None
        return Mark(self.opened, self.written * self.block + len(self._staging), snapshot())

    def rewind(self, mark: Mark, margin: int) -> int | None:
        """Drop what is queued but not yet played, from `margin` slots after the play head on, to write the sound
        from `mark` on again: the next write()s resume the stream as if `mark` were its last state. The callback
        plays what it already has and is never left with a slot being written: the slots it may still take are
        kept, and the number written drops to just after them in one step.

        Returns how many source samples after `mark` must be written as they were (their sound is already in the
        kept slots, or feeds the resampler's filter for it), or None if nothing queued can be dropped (then
        nothing changed)."""
        ratio = self.rate // self.source_rate
        if mark.stream != self.opened or self.state != "open":
            return None
        first = self.read + margin  # the first slot that may be dropped
        if mark.produced > first * self.block:  # the mark is later: keep what lies before it, too
            first = mark.produced // self.block
        if first >= self.written:
            return None
        self.written = first  # from here the callback stops at `first`; the slot it is in (if any) is before
        kept = max(0, mark.produced - first * self.block)  # the start of slot `first` that lies before the mark
        i = first % self.slots
        self._staging = self.ring[i, :kept].copy()
        self._staging_ceiling = float(self.slot_ceiling[i])
        self._resampler.restore(mark.resampler)
        self._skip = max(0, first * self.block - mark.produced)
        # A source sample changes the device samples from `ratio` times its index on (the filter is causal): the
        # source samples whose sound starts before the first device sample written again must be written unchanged.
        return -(-self._skip // ratio)

    def resampler_delay(self) -> float:
        """How late the resampler's output is, in device samples (0 before a stream)."""
        return float(self._resampler.delay()) if self._resampler is not None else 0.0

    def played(self, stream: int, produced: int) -> tuple[float, float] | None:
        """When the callback took device sample `produced` of stream `stream` (Mark's numbering), and when it reached
        the device's output, in time.monotonic(): the latter from PortAudio's prediction for its slot, to ~1 ms
        (tests/audiopeers.py's Recorder measures its null sink's clock against it). None until the callback has
        taken that slot, or after the ring lapped it, or for another stream."""
        if stream != self.opened or not self.block:
            return None
        slot = produced // self.block
        i = slot % self.slots
        taken, lag = float(self.slot_taken_at[i]), float(self.slot_lag[i])
        if self.slot_number[i] != slot:  # checked after the reads: the callback may write the entry meanwhile
            return None
        return taken, taken + lag + (produced - slot * self.block) / self.rate

    def write(self, samples: np.ndarray, ceiling: float) -> None:
        """Sound at the source rate, already under `ceiling` (linear): resampled, cut into slots."""
        if self.state != "open":
            return
        # What the resampler holds back is played after the queue: a term of the latency, reported as its maximum
        # (a fixed 3 ms at 16 -> 48 kHz; libsoxr, at other ratios, 6-37 ms in its internal blocks).
        self.resampler_held = max(self.resampler_held, self._resampler.delay())
        y = self._resampler.resample_chunk(samples.astype(np.float32))
        if self._skip:  # a rewind's start, already in the ring
            drop = min(self._skip, len(y))
            y, self._skip = y[drop:], self._skip - drop
        # Resampling can ring a hair over a peak that sat exactly on the ceiling.
        np.clip(y, -ceiling, ceiling, out=y)
        if len(self._staging) and ceiling < self._staging_ceiling:  # as the callback does for whole slots
            self._staging *= np.float32(ceiling / self._staging_ceiling)
        self._staging_ceiling = ceiling
        buf = np.concatenate([self._staging, y]) if len(self._staging) else y
        n = len(buf) // self.block
        for k in range(n):
            if self.written - self.read >= self.slots:  # the device stalled: drop rather than block
                break
            i = self.written % self.slots
            self.ring[i] = buf[k * self.block : (k + 1) * self.block]
            self.slot_ceiling[i] = ceiling
            self.written += 1
        self._staging = buf[n * self.block :].copy()

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state, "device": self.name, "sample_rate": self.rate or None,
            "underruns": self.underruns, "xruns": self.xruns,
            "device_latency_ms": round(1000 * self.device_latency_s, 1),
            "output_lag_ms": round(1000 * (self.output_lag_s or self.device_latency_s), 1),
            "callback_ms": round(1000 * self.period_s, 1),
            "resampler_ms": round(1000 * self.resampler_held / self.rate, 1) if self.rate else 0.0,
            "callback_scheduling": policy_name(self.callback_policy),
            "callback_gap_ms_max": round(1000 * self.callback_gap, 1),
            "queued_ms": round(1000 * self.queued_s(), 1), "opened": self.opened, "lost": self.lost,
        }

    def close(self) -> None:
        self._close()
        self.state = "off"
