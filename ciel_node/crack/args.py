"""`ciel-node crack`'s arguments, settled and checked before anything heavy is imported: a wrong flag is one line
at once, not after the seconds torch takes to load."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ciel_node.crack.both import default_out
from ciel_node.errors import CielError


def settle(args: argparse.Namespace) -> None:
    """Settle what `crack [audio|images|map] SOURCE` asks for (args.model becomes "audio", "images", "map" or "both";
    --out and --cache get their defaults) and refuse a bad value before anything is read."""
    if args.source is None:  # `crack DIR`: both nets
        args.model, args.source = "both", Path(args.model)
    elif args.model not in ("audio", "images", "map"):
        raise CielError(f"crack {args.model} {args.source}: say `crack audio DIR`, `crack images DIR`, or `crack DIR` "
                        "for both nets (`crack map DIR` relearns the synaesthesia map)")
    if args.model != "map" and args.minutes is None:
        raise CielError("crack needs --minutes M, the training time budget (e.g. --minutes 10)")
    if args.model != "map" and not (args.minutes > 0 and math.isfinite(args.minutes)):
        raise CielError(f"--minutes {args.minutes} must be a positive number of minutes")
    if not (args.window >= 0 and math.isfinite(args.window)):
        raise CielError(f"--window {args.window} must be a number of minutes, 0 or more")
    if not 1 <= args.steps <= 100_000:
        raise CielError(f"--steps {args.steps} must be in 1..100000")
    folder = default_out(args.source)
    if args.model in ("both", "map"):
        if args.out is not None and args.out.suffix == ".pt":
            raise CielError(f"--out {args.out}: for both nets --out is a folder (it gets audio.pt and images.pt, and "
                            f"the map); for one net say `crack audio {args.source} --out {args.out}`")
        args.out = args.out or folder
        folder = args.out
    else:
        args.out = args.out or folder / ("audio.pt" if args.model == "audio" else "images.pt")
        folder = args.out.parent
    if args.cache is None:
        args.cache = folder / ".archive-cache"
    if args.model in ("audio", "images") and args.out.suffix != ".pt":
        raise CielError(f"--out {args.out} should end in .pt, e.g. checkpoints/mine.pt")
    if args.resume and not args.out.exists():
        raise CielError(f"--resume needs an existing checkpoint at --out {args.out}; drop --resume to start fresh")
    if not 1 <= args.threads <= 64:
        raise CielError(f"--threads {args.threads} must be in 1..64")
    if args.batch is not None and not 1 <= args.batch <= 4096:
        raise CielError(f"--batch {args.batch} must be in 1..4096")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CielError(f"cannot create the folder for --out {args.out} ({e.strerror})") from None
