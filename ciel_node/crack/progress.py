"""How `crack` shows its training: a live bar in a terminal, a line every 10 s when the output is a file, JSON lines
for the parent that trains both nets side by side; and the loss curves, kept for a picture at the end."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

PROGRESS_S = 10.0  # a line this often when the output is not a terminal
JSON_S = 1.0  # a JSON line this often for the parent's bars
BAR_S = 0.25  # a terminal's bar is redrawn at most this often
MODES = ("auto", "bar", "lines", "json")


def clock_text(seconds: float) -> str:
    s = round(max(0.0, seconds))
    return f"{s // 60}:{s % 60:02d}"


def losses_text(losses: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in losses.items())


class Progress:
    """One net's training, shown as `mode` says ("auto": a bar on a terminal, else lines)."""

    def __init__(self, net: str, mode: str, budget_s: float) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.net, self.mode, self.budget_s = net, mode, budget_s
        self.bar: tqdm[Any] | None = None
        self.start = self.last = time.monotonic()
        self.step0 = 0

    def begin(self, step: int, what: str) -> None:
        self.step0, self.start = step, time.monotonic()
        self.last = self.start
        self.note(f"training {what}, from step {step}, {clock_text(self.budget_s)} left (Ctrl-C saves)")
        if self.mode == "bar":
            self.bar = tqdm(total=round(self.budget_s), desc=self.net, unit="s", file=sys.stderr, dynamic_ncols=True,
                            bar_format="{desc} {bar} {elapsed}<{remaining} {postfix}")

    def update(self, step: int, losses: dict[str, float]) -> None:
        """After each step; draws only as often as its mode asks."""
        now = time.monotonic()
        period = {"bar": BAR_S, "json": JSON_S}.get(self.mode, PROGRESS_S)
        if now - self.last < period:
            return
        self.last = now
        elapsed = now - self.start
        rate = (step - self.step0) / max(elapsed, 1e-9)
        left = max(0.0, self.budget_s - elapsed)
        if self.bar is not None:
            self.bar.n = min(self.bar.total, round(elapsed))
            self.bar.set_postfix_str(f"step {step}  {rate:.1f} steps/s  {losses_text(losses)}", refresh=False)
            self.bar.refresh()
        elif self.mode == "json":
            print(json.dumps({"net": self.net, "step": step, "elapsed": round(elapsed, 2), "left": round(left, 2),
                              "rate": round(rate, 3), "losses": {k: round(v, 6) for k, v in losses.items()}}),
                  flush=True)
        else:
            print(f"{self.net}: step {step}  {losses_text(losses)}  {rate:.2f} steps/s  {clock_text(left)} left",
                  file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        """A line of its own (above the bar in a terminal)."""
        if self.bar is not None:
            self.bar.write(f"{self.net}: {text}", file=sys.stderr)
        else:
            print(f"{self.net}: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.n = self.bar.total
            self.bar.close()
            self.bar = None


class LossLog:
    """Every loss of a run, kept in at most `size` points: when full, every other point goes (the curve's shape
    stays, its memory bounded on a night-long crack)."""

    def __init__(self, size: int = 2000) -> None:
        self.size, self.every, self.count = size, 1, 0
        self.steps: list[int] = []
        self.values: dict[str, list[float]] = {}

    def add(self, step: int, losses: dict[str, float]) -> None:
        self.count += 1
        if self.count % self.every:
            return
        self.steps.append(step)
        for k, v in losses.items():
            self.values.setdefault(k, []).append(v)
        if len(self.steps) >= self.size:
            self.steps = self.steps[1::2]
            self.values = {k: v[1::2] for k, v in self.values.items()}
            self.every *= 2

    def picture(self, title: str, width: int = 720, height: int = 360) -> Image.Image:
        """The curves on a log scale, one colour per loss, named in a legend."""
        im = Image.new("RGB", (width, height), (16, 16, 24))
        draw = ImageDraw.Draw(im)
        font = ImageFont.load_default()
        left, top, right, bottom = 56, 28, width - 12, height - 28
        draw.rectangle((left, top, right, bottom), outline=(90, 90, 110))
        draw.text((left, 8), title, fill=(220, 220, 230), font=font)
        positive = [v for vs in self.values.values() for v in vs if v > 0 and math.isfinite(v)]
        if len(self.steps) < 2 or not positive:
            draw.text((left + 8, top + 8), "too few steps to draw", fill=(220, 220, 230), font=font)
            return im
        lo, hi = math.log10(min(positive)), math.log10(max(positive))
        if hi - lo < 1e-6:
            lo, hi = lo - 0.5, hi + 0.5
        s0, s1 = self.steps[0], max(self.steps[-1], self.steps[0] + 1)
        for label, value in ((hi, 10**hi), (lo, 10**lo)):
            y = bottom - (label - lo) / (hi - lo) * (bottom - top)
            draw.text((4, y - 6), f"{value:.3g}", fill=(160, 160, 180), font=font)
        draw.text((left, bottom + 8), f"step {s0}", fill=(160, 160, 180), font=font)
        draw.text((right - 80, bottom + 8), f"step {self.steps[-1]}", fill=(160, 160, 180), font=font)
        colours = [(255, 170, 60), (90, 200, 255), (170, 255, 120), (255, 110, 160)]
        for i, (name, values) in enumerate(self.values.items()):
            colour = colours[i % len(colours)]
            x = [left + (s - s0) / (s1 - s0) * (right - left) for s in self.steps]
            points = [(px, bottom - (math.log10(v) - lo) / (hi - lo) * (bottom - top))
                      for px, v in zip(x, values) if v > 0 and math.isfinite(v)]
            if len(points) >= 2:
                draw.line(points, fill=colour, width=1)
            draw.text((right - 70, top + 6 + 14 * i), name, fill=colour, font=font)
        return im
