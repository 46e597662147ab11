"""Command line: argparse -> config -> the node, `crack` or `archive`; user errors exit 2 in one line."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ciel_node import __version__
from ciel_node.errors import CielError
from ciel_node.logrates import rate_limit_root_handlers
from ciel_node.params import PARAMS, number


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ciel-node", description="Neural noise from two cracked nets, on a CPU.")
    p.add_argument("--version", action="version", version=f"ciel-node {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the generation node")
    run.add_argument("--config", type=Path, help="TOML file with any of the settings below")
    run.add_argument("--web", help="HTTP listen address for the page and API (default 127.0.0.1:8080)")
    run.add_argument("--osc", help="OSC UDP and TCP listen address (default 127.0.0.1:9000)")
    run.add_argument("--oscquery", metavar="HOST:PORT|off",
                     help="OSCQuery namespace (HTTP + WebSocket) of every parameter (default 127.0.0.1:5678)")
    run.add_argument("--ssh", help="embedded SSH server address (default 127.0.0.1:2222; on with --authorized-keys)")
    run.add_argument("--authorized-keys", type=Path, help="OpenSSH authorized_keys of the operators: turns SSH on")
    run.add_argument("--reverse-tunnel", metavar="USER@RELAY[:PORT]",
                     help="keep an outgoing SSH connection to a relay that forwards to this node's OSC port")
    run.add_argument("--reverse-tunnel-key", type=Path, help="private key for the relay (default ~/.ssh/id_*)")
    run.add_argument("--reverse-tunnel-port", type=int, help="port to ask for on the relay (default: relay's choice)")
    run.add_argument("--known-hosts", type=Path, help="known_hosts with the relay's key (default ~/.ssh/known_hosts)")
    run.add_argument("--osc-allow", help="accept OSC only from these CIDRs, comma-separated (with a wide --osc)")
    run.add_argument("--wekinator", metavar="PARAM[.K],...",
                     help="Wekinator's outputs (/wek/outputs), in order, onto parameters (default "
                          "xy_image.1,xy_image.2,xy_sound.1,xy_sound.2,drift)")
    run.add_argument("--state-dir", type=Path, help="published media, manifest, saved controls (default ./state)")
    run.add_argument("--audio-checkpoint", type=Path, help="sound model (default checkpoints/audio.pt)")
    run.add_argument("--image-checkpoint", type=Path, help="image model (default checkpoints/images.pt)")
    for spec in PARAMS.persisted:  # every saved control is a flag too (params.py): --interval, --drift ...
        n = len(spec.types)
        run.add_argument(spec.flag, type=int if spec.types == "i" else float, nargs=None if n == 1 else n,
                         metavar=spec.label.upper() or None,
                         help=f"{spec.description}, {spec.range_text()}{(' ' + spec.unit) if spec.unit else ''} "
                              f"(default {' '.join(map(number, spec.default))}; else the last value saved)")
    run.add_argument("--keep-pieces", type=int, help="retention: newest pieces kept (default 500)")
    run.add_argument("--keep-mb", type=float, help="retention: megabytes of media kept (default 1024)")
    run.add_argument("--threads", type=int, help="PyTorch threads for rendering (default 1)")
    run.add_argument("--gl-iterations", type=int, help="fast Griffin-Lim iterations per block (default 16)")
    run.add_argument("--max-sound-s", type=float, help="longest sound rendered; longer intervals loop it (default 120)")
    run.add_argument("--no-playback", dest="speakers", action="store_false", default=None,
                     help="no local playback at all (a headless node: pieces are rendered ahead)")
    run.add_argument("--audio-device", metavar="NAME|INDEX",
                     help="output device: an index or (part of) a name from `ciel-node devices` (default: system's)")
    run.add_argument("--image-format", choices=["webp", "png", "avif"],
                     help="published pictures: webp (default, light), png (lossless, for archives) or avif")
    run.add_argument("--image-quality", type=int, metavar="1..100", help="webp/avif quality (default 80)")
    run.add_argument("--publish-to", metavar="URL",
                     help="also publish each piece once to nchan's publisher location, which pushes it to every "
                          "listener (deploy/nginx-nchan.conf: http://127.0.0.1:8081/internal/pieces)")
    run.add_argument("--log-level", choices=["debug", "info", "warning", "error"])

    sub.add_parser("devices", help="list the audio output devices (for --audio-device)")

    crack = sub.add_parser("crack", help="train both nets (or one) on your own archive, stopped by the clock",
                           usage="ciel-node crack [audio|images] SOURCE --minutes M [--out OUT] [options]\n"
                                 "       ciel-node crack map SOURCE [--out FOLDER]  (relearn the synaesthesia map)")
    crack.add_argument("model", metavar="[audio|images|map]",
                       help="one net only (default: both, side by side, then the map); map: only the synaesthesia "
                            "map, for the two checkpoints already in --out")
    crack.add_argument("source", type=Path, nargs="?", help="your archive folder (searched recursively)")
    crack.add_argument("--minutes", type=float, help="training time budget (reading not counted); required")
    crack.add_argument("--out", type=Path,
                       help="both nets: a folder, gets audio.pt and images.pt (default checkpoints/<SOURCE's name>); "
                            "one net: its checkpoint, e.g. checkpoints/mine.pt (default that folder's audio.pt or "
                            "images.pt)")
    crack.add_argument("--cache", type=Path,
                       help="decoded archive files, kept by content hash for the next crack "
                            "(default .archive-cache in the output folder)")
    crack.add_argument("--progress", choices=["auto", "bar", "lines", "json"], default="auto",
                       help="a live bar (auto: in a terminal), a line every 10 s, or JSON lines")
    crack.add_argument("--resume", action="store_true", help="continue from --out (and its .resume file)")
    crack.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    crack.add_argument("--threads", type=int, default=2, help="PyTorch threads (default 2)")
    crack.add_argument("--batch", type=int, help="batch size (default 64 images / 256 frames)")
    crack.add_argument("--save-every", type=float, default=3.0, help="minutes between checkpoints (default 3)")
    crack.add_argument("--window", type=float, default=10.0,
                       help="the map: a picture and a sound captured this many minutes apart or less pair (default 10)")
    crack.add_argument("--steps", type=int, default=150,
                       help="the map: Adam steps finding each paired picture in the image net (default 150)")

    sheet = sub.add_parser("bend-sheet", help="a contact sheet of what every bend does to both nets")
    sheet.add_argument("--out", type=Path, default=Path("bends.png"),
                       help="writes OUT.image.png and OUT.sound.png (default bends.png)")
    sheet.add_argument("--audio-checkpoint", type=Path, default=Path("checkpoints/audio.pt"))
    sheet.add_argument("--image-checkpoint", type=Path, default=Path("checkpoints/images.pt"))
    sheet.add_argument("--seed", type=int, default=0, help="the latent point shown (default 0)")

    maps = sub.add_parser("map", help="pictures of both nets' maps (the planes /ciel/xy/sound and /ciel/xy/image "
                                      "move on)")
    maps.add_argument("--archive", type=Path,
                      help="the sound net's archive: store the plane of its frames in --audio-checkpoint first")
    maps.add_argument("--out", type=Path, default=Path("map.png"),
                      help="writes OUT.sound.png and OUT.image.png (default map.png)")
    maps.add_argument("--audio-checkpoint", type=Path, default=Path("checkpoints/audio.pt"))
    maps.add_argument("--image-checkpoint", type=Path, default=Path("checkpoints/images.pt"))

    seal = sub.add_parser("seal", help="seal a checkpoint made before checkpoints carried a seal of their weights")
    seal.add_argument("checkpoints", type=Path, nargs="+", metavar="CHECKPOINT")

    operator = sub.add_parser("operator", add_help=False,
                              help="bridge a local Max/Pd patch to a remote node over SSH (see --help there)")
    operator.add_argument("rest", nargs=argparse.REMAINDER)

    archive = sub.add_parser("archive", help="build the project's own found archive (what the shipped models saw)")
    archive.add_argument("out", type=Path)
    archive.add_argument("--seed", type=int, default=0)
    archive.add_argument("--small", action="store_true", help="a tiny archive, for tests")
    return p


def _bend_sheet(args: argparse.Namespace) -> int:
    from ciel_node.generate.audio import AudioRenderer
    from ciel_node.generate.image import ImageRenderer
    from ciel_node.generate.sheet import write_sheets
    from ciel_node.models.audio_vae import SpectralVAE
    from ciel_node.models.image_gan import Generator

    vae, _ = SpectralVAE.from_checkpoint(args.audio_checkpoint)
    gan, _ = Generator.from_checkpoint(args.image_checkpoint)
    try:
        paths = write_sheets(AudioRenderer(vae), ImageRenderer(gan), args.seed, args.out)
    except OSError as e:
        raise CielError(f"cannot write the bend sheet {args.out} ({e.strerror or e}); pass --out in a writable "
                        "folder") from None
    for path in paths:
        print(path)
    return 0


def _unwritable(out: Path, e: OSError) -> CielError:
    return CielError(f"cannot write the maps {out} ({e.strerror or e}); pass --out in a writable folder")


def _map(args: argparse.Namespace) -> int:
    from ciel_node.crack.train import store_archive_map
    from ciel_node.generate.mappics import image_picture, sound_picture
    from ciel_node.generate.place import image_map, sound_map, sound_map_of_own_sounds
    from ciel_node.models.audio_vae import SpectralVAE
    from ciel_node.models.checkpoint import load_checkpoint
    from ciel_node.models.image_gan import Generator

    paths = [args.out.with_suffix(".sound.png"), args.out.with_suffix(".image.png")]
    vae, _ = SpectralVAE.from_checkpoint(args.audio_checkpoint)
    gan, _ = Generator.from_checkpoint(args.image_checkpoint)
    try:  # before the minutes of work, not after them
        args.out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _unwritable(args.out, e) from None
    if args.archive is not None:
        sound = store_archive_map(vae, args.audio_checkpoint, args.archive)
    elif "map" in (load_checkpoint(args.audio_checkpoint, "audio_vae").get("extra") or {}):
        sound = sound_map(vae, args.audio_checkpoint)
    else:
        print(f"{args.audio_checkpoint} has no map of its archive: drawing the plane of the net's own sounds "
              "(--archive DIR stores the archive's)", file=sys.stderr)
        sound = sound_map_of_own_sounds(vae)
    try:
        sound_picture(sound, args.audio_checkpoint.name).save(paths[0])
        image_picture(gan, image_map(gan), args.image_checkpoint.name).save(paths[1])
    except OSError as e:
        raise _unwritable(args.out, e) from None
    for path in paths:
        print(path)
    return 0


def _quiet_pythonosc(record: logging.LogRecord) -> bool:
    # python-osc warns on the root logger for every odd type tag; a hostile sender would flood the
    # log. Malformed and rejected packets are counted in the node's health data instead.
    return "pythonosc" not in record.pathname


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["operator"]:  # its own flags (argparse would take them for ours) and its own log format
        from ciel_node.ssh.operator import main as operator_main

        return operator_main(argv[1:])
    args = _parser().parse_args(argv)
    level = getattr(args, "log_level", None) or "info"
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_quiet_pythonosc)
    rate_limit_root_handlers()  # an error in a loop, or a hostile peer, must not flood the log
    try:
        if args.command == "run":
            from ciel_node.config import load_run_config
            from ciel_node.fdlimit import raise_nofile_limit

            raise_nofile_limit()  # the web surface's connection caps derive from it

            flags = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
            config = load_run_config(args.config, flags)  # a wrong setting is one line before torch loads (~2 s)
            from ciel_node import app

            return app.run(config)
        if args.command == "devices":
            from ciel_node.playback.speaker import print_devices

            return print_devices()
        if args.command == "bend-sheet":
            return _bend_sheet(args)
        if args.command == "map":
            return _map(args)
        if args.command == "seal":
            from ciel_node.models.checkpoint import seal_checkpoint

            for path in args.checkpoints:
                print(f"{path}: sealed, sha256 {seal_checkpoint(path)}")
            return 0
        if args.command == "crack":
            from ciel_node.crack.args import settle

            settle(args)  # a wrong flag is refused before torch loads
            if args.model == "map":
                from ciel_node.crack.learnmap import crack_map

                return crack_map(args)
            from ciel_node.crack.train import crack

            return crack(args)
        from ciel_node.crack.found import main as archive_main

        return archive_main([str(args.out), "--seed", str(args.seed), *(["--small"] if args.small else [])])
    except CielError as e:
        print(f"ciel-node: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
