"""`ciel-node crack`'s arguments, settled and checked before anything heavy is imported: a wrong flag is one line
at once, not after the seconds torch takes to load."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ciel_node.crack.both import default_out
from ciel_node.errors import CielError


def settle(args: argparse.Namespace) -> None:
    """Settle what `crack [audio|images] SOURCE` asks for (args.model becomes "audio", "images" or "both"; --out and
    --cache get their defaults) and refuse a bad value before anything is read."""
    if args.source is None:  # `crack DIR`: both nets
        args.model, args.source = "both", Path(args.model)
    elif args.model not in ("audio", "images"):
        raise CielError(f"crack {args.model} {args.source}: say `crack audio DIR`, `crack images DIR`, or `crack DIR` "
                        "for both nets")
    if not (args.minutes > 0 and math.isfinite(args.minutes)):
        raise CielError(f"--minutes {args.minutes} must be a positive number of minutes")
    folder = default_out(args.source)
    if args.model == "both":
        if args.out is not None and args.out.suffix == ".pt":
            raise CielError(f"--out {args.out}: for both nets --out is a folder (it gets audio.pt and images.pt); "
                            f"for one net say `crack audio {args.source} --out {args.out}`")
        args.out = args.out or folder
        folder = args.out
    else:
        args.out = args.out or folder / ("audio.pt" if args.model == "audio" else "images.pt")
        folder = args.out.parent
    if args.cache is None:
        args.cache = folder / ".archive-cache"
    if args.model != "both" and args.out.suffix != ".pt":
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
