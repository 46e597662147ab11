"""The bending transforms, in PyTorch on the CPU: one layer's activations in, the same shape out.

Three kinds of layer (bends.py): feature maps (B, C, H, W), hidden units (B, U), a log-magnitude spectrum (B, F).
Each transform with its neutral value is absent from a LayerBend, so an unbent layer is not touched at all; the
chosen features (a mask over C, U or F) take the bent values, the others keep theirs. Per-map statistics
(threshold, invert) are over each map's own pixels, or each frame's own units or bins.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ciel_node.bends import LayerBend

Tensor = torch.Tensor


def bend_maps(x: Tensor, bend: LayerBend, select: Tensor | None) -> Tensor:
    """(B, C, H, W) feature maps (or the picture, C = 3) -> the same, bent on the channels `select` picks."""
    ops = dict(bend.ops)
    y = x
    geometry = [ops.get("translate", (0.0, 0.0)), ops.get("scale", (1.0,))[0], ops.get("rotate", (0.0,))[0]]
    if "translate" in ops or "scale" in ops or "rotate" in ops:
        y = _warp(y, *geometry)  # type: ignore[arg-type]
    if "flip_h" in ops:
        y = torch.flip(y, dims=[3])
    if "flip_v" in ops:
        y = torch.flip(y, dims=[2])
    if "erode" in ops:
        y = -dilate(-y, int(ops["erode"][0]), dims=(2, 3))
    if "dilate" in ops:
        y = dilate(y, int(ops["dilate"][0]), dims=(2, 3))
    y = _values(y, ops, dims=(2, 3))
    if select is None:
        return y
    return torch.where(select[None, :, None, None], y, x)


def bend_units(x: Tensor, bend: LayerBend, select: Tensor | None) -> Tensor:
    """(B, U) hidden units -> the same, bent on the units `select` picks."""
    y = _values(x, dict(bend.ops), dims=(1,))
    return y if select is None else torch.where(select[None, :], y, x)


def bend_spectrum(x: Tensor, bend: LayerBend, select: Tensor | None, floor: float) -> Tensor:
    """(B, F) natural-log magnitudes -> the same, bent along frequency on the bins `select` picks; `floor` is the
    log magnitude of silence (what comes in where the spectrum moves away)."""
    ops = dict(bend.ops)
    bins = x.shape[1]
    y = x
    if "translate" in ops:
        shift = round(ops["translate"][0] * bins)
        if shift:
            y = torch.full_like(y, floor) if abs(shift) >= bins else (
                torch.cat([torch.full_like(y[:, :shift], floor), y[:, :-shift]], 1) if shift > 0
                else torch.cat([y[:, -shift:], torch.full_like(y[:, :-shift], floor)], 1))
    if "scale" in ops:  # bin k takes what was at k / s: s > 1 stretches the spectrum upwards from 0 Hz
        src = torch.arange(bins, dtype=y.dtype) / ops["scale"][0]
        lo = src.floor().long().clamp(max=bins - 1)
        hi = (lo + 1).clamp(max=bins - 1)
        frac = src - lo
        y = torch.where(src <= bins - 1, y[:, lo] * (1 - frac) + y[:, hi] * frac, torch.full_like(y, floor))
    if "flip_v" in ops:
        y = torch.flip(y, dims=[1])
    if "erode" in ops:
        y = -dilate(-y, int(ops["erode"][0]), dims=(1,))
    if "dilate" in ops:
        y = dilate(y, int(ops["dilate"][0]), dims=(1,))
    if "multiply" in ops:  # a gain on the magnitudes: a shift of their logs
        m = ops["multiply"][0]
        y = (y + math.log(m)).clamp(min=floor) if m > 0 else torch.full_like(y, floor)
    y = _values(y, {k: v for k, v in ops.items() if k in ("threshold", "invert")}, dims=(1,))
    if "ablate" in ops:  # towards silence, in the log domain
        a = ops["ablate"][0]
        y = y * (1 - a) + floor * a
    return y if select is None else torch.where(select[None, :], y, x)


def dilate(y: Tensor, r: int, dims: tuple[int, ...]) -> Tensor:
    """The maximum over a (2r+1)-wide square (or run) around each value, outside ignored: max_pool's result, one
    axis at a time over shifted views (torch's CPU max_pool2d with stride 1 took half of an all-bent picture)."""
    for d in dims:
        n = y.shape[d]
        pad = [0, 0] * (y.dim() - 1 - d) + [r, r]
        p = F.pad(y, pad, value=float("-inf"))
        out = p.narrow(d, 0, n)
        for k in range(1, 2 * r + 1):
            out = torch.maximum(out, p.narrow(d, k, n))
        y = out
    return y


def _values(y: Tensor, ops: dict[str, tuple[float, ...]], dims: tuple[int, ...]) -> Tensor:
    """multiply, threshold, invert, ablate: on the values, with each map's (row's) range where one is needed."""
    if "multiply" in ops:
        y = y * ops["multiply"][0]
    if "threshold" in ops or "invert" in ops:
        lo, hi = y.amin(dim=dims, keepdim=True), y.amax(dim=dims, keepdim=True)
        if "threshold" in ops:
            y = torch.where(y >= lo + ops["threshold"][0] * (hi - lo), hi, lo).expand_as(y)
        if "invert" in ops:
            y = hi + lo - y
    if "ablate" in ops:
        y = y * (1.0 - ops["ablate"][0])
    return y


def _warp(x: Tensor, translate: tuple[float, float], scale: float, degrees: float) -> Tensor:
    """Zoom by `scale` and turn by `degrees` (counter-clockwise as seen) about the centre, then move by `translate`
    (fractions of the map, x right, y down); zeros come in from outside. Whole quarter turns with whole-pixel moves
    are exact (rot90, slicing); anything else is one bilinear resampling."""
    h, w = x.shape[-2:]
    dx, dy = translate[0] * w, translate[1] * h
    quarter = degrees / 90.0
    if scale == 1.0 and quarter.is_integer() and float(dx).is_integer() and float(dy).is_integer():
        return _shift(torch.rot90(x, int(quarter) % 4, dims=(2, 3)), int(dy), int(dx))
    a = math.radians(degrees)
    cos, sin = math.cos(a) / scale, math.sin(a) / scale
    # grid_sample's theta maps each output point to where it reads from, in [-1, 1] units (y down): the inverse move.
    tx, ty = -2.0 * translate[0], -2.0 * translate[1]
    theta = torch.tensor([[cos, -sin, cos * tx - sin * ty], [sin, cos, sin * tx + cos * ty]], dtype=x.dtype)
    grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _shift(x: Tensor, dy: int, dx: int) -> Tensor:
    """Move the maps by whole pixels (down, right); zeros come in."""
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = (
        x[..., max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)])
    return out
