"""Build the project's own "found archive": synthetic phone voice notes, noises and photos, reproducibly."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ciel_node.errors import CielError

SMALL = {"voices": 3, "noises": 2, "pictures": 4}
_TOOLS = {"espeak-ng": "espeak-ng", "sox": "sox libsox-fmt-all", "ffmpeg": "ffmpeg"}
_MARKER = "FOUND.txt"

# Diary fragments the project wrote itself, so the shipped checkpoints owe nothing to anyone's media.
_PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "en": (("Note to self,", "Tuesday evening,", "Quick one,", "Day three,"),
           ("the bus was late again", "I found the old keys in the blue box", "the rain never stopped",
            "mum called about the garden", "the kitchen light is flickering"),
           ("call me back.", "more tomorrow.", "that's all.", "don't forget the bread.")),
    "fr": (("Note pour moi,", "Mardi soir,", "Bon,", "Troisième jour,"),
           ("le bus était encore en retard", "j'ai retrouvé les vieilles clés", "la pluie ne s'arrête pas",
            "maman a appelé pour le jardin", "la lumière de la cuisine clignote"),
           ("rappelle-moi.", "la suite demain.", "c'est tout.", "n'oublie pas le pain.")),
    "de": (("Notiz für mich,", "Dienstagabend,", "Also,", "Tag drei,"),
           ("der Bus war wieder zu spät", "ich habe die alten Schlüssel gefunden", "der Regen hört nicht auf",
            "Mama hat wegen des Gartens angerufen", "das Küchenlicht flackert"),
           ("ruf mich zurück.", "mehr morgen.", "das war's.", "vergiss das Brot nicht.")),
    "es": (("Nota para mí,", "Martes por la noche,", "Bueno,", "Día tres,"),
           ("el autobús llegó tarde otra vez", "encontré las llaves viejas", "la lluvia no para",
            "mamá llamó por el jardín", "la luz de la cocina parpadea"),
           ("llámame.", "mañana más.", "eso es todo.", "no olvides el pan.")),
    "it": (("Nota per me,", "Martedì sera,", "Allora,", "Giorno tre,"),
           ("l'autobus era di nuovo in ritardo", "ho trovato le vecchie chiavi", "la pioggia non smette",
            "la mamma ha chiamato per il giardino", "la luce della cucina lampeggia"),
           ("richiamami.", "domani il resto.", "è tutto.", "non dimenticare il pane.")),
    "pt": (("Nota para mim,", "Terça à noite,", "Então,", "Dia três,"),
           ("o autocarro atrasou outra vez", "encontrei as chaves antigas", "a chuva não para",
            "a mãe ligou por causa do jardim", "a luz da cozinha pisca"),
           ("liga-me.", "amanhã há mais.", "é tudo.", "não te esqueças do pão.")),
    "nl": (("Notitie voor mezelf,", "Dinsdagavond,", "Nou,", "Dag drie,"),
           ("de bus was weer te laat", "ik heb de oude sleutels gevonden", "de regen houdt niet op",
            "mama belde over de tuin", "het licht in de keuken knippert"),
           ("bel me terug.", "morgen meer.", "dat was het.", "vergeet het brood niet.")),
    "pl": (("Notatka dla siebie,", "Wtorek wieczorem,", "No więc,", "Dzień trzeci,"),
           ("autobus znowu się spóźnił", "znalazłem stare klucze", "deszcz nie przestaje padać",
            "mama dzwoniła w sprawie ogrodu", "światło w kuchni miga"),
           ("oddzwoń.", "jutro więcej.", "to wszystko.", "nie zapomnij chleba.")),
}
_LANGS = tuple(_PHRASES)
_PALETTES = {  # (zenith, horizon, ground) in RGB
    "day": ((40, 110, 210), (180, 215, 240), (70, 95, 55)),
    "dusk": ((45, 40, 110), (250, 140, 70), (40, 30, 40)),
    "night": ((3, 5, 20), (25, 35, 70), (8, 8, 12)),
}


class MissingToolError(CielError):
    """A command-line tool the found archive is made with is not installed."""


def build_found_archive(out: Path, seed: int = 0, voices: int = 40, noises: int = 30, pictures: int = 400) -> Path:
    for tool, package in _TOOLS.items():
        if shutil.which(tool) is None:
            raise MissingToolError(f"{tool} is not installed; the found archive needs it: apt-get install {package}")
    if "amr-nb" not in _run(["sox", "-h"]):
        raise MissingToolError("sox cannot write AMR-NB; apt-get install libsox-fmt-all")
    out = _prepare(Path(out))
    for sub in ("voice", "noise", "photos"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ciel-found-") as tmp, ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(_voice, out / "voice", Path(tmp), seed, i) for i in range(voices)]
        jobs += [pool.submit(_noise, out / "noise", Path(tmp), seed, i) for i in range(noises)]
        jobs += [pool.submit(_picture, out / "photos", seed, i) for i in range(pictures)]
        for job in jobs:
            job.result()  # re-raises the first failure instead of leaving a half-built archive unnoticed
    versions = [_run([t, "--version"]).splitlines()[0] for t in ("espeak-ng", "sox")]
    (out / _MARKER).write_text(
        "ciel-node found archive: every file here was generated by `python -m ciel_node.crack.found`\n"
        f"seed={seed} voices={voices} noises={noises} pictures={pictures}\n" + "\n".join(versions) + "\n",
        encoding="utf-8",
    )
    return out


def _prepare(out: Path) -> Path:
    if out.exists() and any(out.iterdir()):
        if not (out / _MARKER).is_file():
            raise CielError(f"{out} is not empty and is not a found archive; pass a new or empty folder")
        # Rebuilding must not leave files of a larger earlier build behind.
        for pattern in ("voice/voice_*", "noise/noise_*", "photos/photo_*"):
            for old in out.glob(pattern):
                old.unlink()
    return out


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = " ".join(done.stderr.split())[-300:]
        raise RuntimeError(f"{cmd[0]} failed (exit {done.returncode}) on {' '.join(cmd[1:])[:200]}: {tail}")
    return done.stdout + done.stderr


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        raw = w.readframes(w.getnframes())
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0, w.getframerate()


def _write_wav(path: Path, x: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())


def _diary_line(rng: np.random.Generator, lang: str) -> str:
    openers, bodies, closers = _PHRASES[lang]
    pick = [int(k) for k in rng.permutation(len(bodies))[: int(rng.integers(1, 3))]]
    return f"{openers[int(rng.integers(len(openers)))]} {', '.join(bodies[k] for k in pick)}, " \
           f"{closers[int(rng.integers(len(closers)))]}"


def _voice(folder: Path, tmp: Path, seed: int, i: int) -> None:
    rng = np.random.default_rng([seed, 1, i])
    lang = _LANGS[int(rng.integers(len(_LANGS)))]
    stem, work = f"voice_{i:03d}", tmp / f"voice_{i:03d}"
    speed, pitch = int(rng.integers(120, 200)), int(rng.integers(15, 85))
    _run(["espeak-ng", "-v", lang, "-s", str(speed), "-p", str(pitch), "-w", f"{work}.raw.wav", _diary_line(rng, lang)])
    # Phone microphones band-limit hard; 8 kHz is the AMR-NB rate.
    _run(["sox", "-R", f"{work}.raw.wav", "-r", "8000", "-c", "1", "-b", "16", f"{work}.8k.wav",
          "highpass", "250", "lowpass", "3400"])
    x, rate = _read_wav(Path(f"{work}.8k.wav"))
    # Pauses before and after make the encoder emit DTX frames, like a real note does.
    x = np.concatenate([np.zeros(int(rate * rng.uniform(0.2, 0.8))), x, np.zeros(int(rate * rng.uniform(0.3, 1.0)))])
    x = np.pad(x, (0, max(0, 2 * rate - len(x))))[: 8 * rate]
    x = x * rng.uniform(0.6, 3.0) + rng.normal(0.0, rng.uniform(0.002, 0.02), len(x))  # gain may clip
    _write_wav(Path(f"{work}.mic.wav"), x, rate)
    amr = Path(f"{work}.amr")
    _run(["sox", "-R", f"{work}.mic.wav", "-C", str(int(rng.integers(0, 8))), "-t", "amr-nb", str(amr)])
    kind = ("amr", "3gp", "wav")[i % 3]
    if kind == "amr":
        shutil.copyfile(amr, folder / f"{stem}.amr")
    elif kind == "3gp":
        _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(amr), "-c:a", "copy", "-map_metadata", "-1",
              "-fflags", "+bitexact", str(folder / f"{stem}.3gp")])
    else:
        _run(["sox", "-R", str(amr), "-r", "16000", "-b", "16", f"{work}.16k.wav"])
        y, rate = _read_wav(Path(f"{work}.16k.wav"))
        y = y * rng.uniform(0.8, 1.6) + rng.normal(0.0, rng.uniform(0.001, 0.01), len(y))
        _write_wav(folder / f"{stem}.wav", y, rate)


def _noise(folder: Path, tmp: Path, seed: int, i: int) -> None:
    rng = np.random.default_rng([seed, 2, i])
    dur = round(float(rng.uniform(2.0, 6.0)), 2)
    lo, hi = int(rng.integers(60, 400)), int(rng.integers(800, 4000))
    recipes = [
        # sox -R repeats the same noise every run; a random offset keeps files from sharing it.
        ["synth", "12", "pinknoise", "trim", f"{rng.uniform(0, 6):.2f}", str(dur)],
        ["synth", "12", "brownnoise", "trim", f"{rng.uniform(0, 6):.2f}", str(dur), "tremolo", "0.5", "40"],
        ["synth", "12", "whitenoise", "trim", f"{rng.uniform(0, 6):.2f}", str(dur), "lowpass", str(hi)],
        ["synth", str(dur), "sine", f"{lo}-{hi}"],
        ["synth", str(dur), "square", f"{lo}:{hi}", "lowpass", "2500"],
        ["synth", str(dur), "sine", str(lo), "tremolo", f"{rng.uniform(2, 9):.1f}", "70"],
        ["synth", str(dur), "brownnoise", "synth", "sine", "amod", f"{rng.uniform(0.2, 2):.2f}"],
    ]
    effects = recipes[int(rng.integers(len(recipes)))] + ["gain", "-n", "-6"]
    if rng.random() < 0.5:
        effects += ["reverb", str(int(rng.integers(20, 90)))]
    if rng.random() < 0.5:  # through a phone: narrowband, then overdriven into clipping
        effects += ["rate", "8000", "rate", "16000", "gain", "-n", "-1", "overdrive", str(int(rng.integers(5, 30)))]
    effects += ["gain", "-n", "-3", "fade", "q", "0.05", str(dur), "0.2"]
    wav = tmp / f"noise_{i:03d}.wav"
    _run(["sox", "-R", "-n", "-r", "16000", "-c", "1", "-b", "16", str(wav), *effects])
    if i % 4 == 1:
        _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "libvorbis", "-q:a", "1",
              "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",  # fixed Ogg serial number
              str(folder / f"noise_{i:03d}.ogg")])
    else:
        shutil.copyfile(wav, folder / f"noise_{i:03d}.wav")


def _picture(folder: Path, seed: int, i: int) -> None:
    rng = np.random.default_rng([seed, 3, i])
    w, h = [(256, 256), (320, 256), (256, 320), (384, 288), (288, 384), (400, 300)][int(rng.integers(6))]
    name = ("day", "dusk", "night")[int(rng.integers(3))]
    zenith, horizon, ground = (np.array(c, np.float32) for c in _PALETTES[name])
    line = int(h * rng.uniform(0.45, 0.85))
    t = (np.arange(h, dtype=np.float32)[:, None, None] / max(line, 1)).clip(0, 1) ** rng.uniform(0.6, 1.8)
    img = zenith * (1 - t) + horizon * t
    img = np.broadcast_to(img, (h, w, 3)).copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # A ridge of hills or rooftops rather than a ruler-straight horizon.
    ridge = line - h * rng.uniform(0, 0.08) * np.abs(np.sin(xx[0] / w * rng.uniform(2, 12) + rng.uniform(0, 6.3)))
    shade = ground * rng.uniform(0.7, 1.3) * (1 - 0.4 * ((yy - line) / max(h - line, 1)).clip(0, 1))[..., None]
    img = np.where((yy >= ridge[None, :])[..., None], shade, img)
    if name == "night":
        for _ in range(int(rng.integers(20, 120))):  # stars, only where the sky shows
            sy, sx = int(rng.integers(line)), int(rng.integers(w))
            if sy < ridge[sx]:
                img[sy, sx] = rng.uniform(150, 255)
        for _ in range(int(rng.integers(0, 40))):  # windows and street lights along the horizon
            ly, lx = line + rng.integers(0, max(h - line, 1)), rng.integers(w)
            glow = np.exp(-((yy - ly) ** 2 + (xx - lx) ** 2) / (2 * rng.uniform(1, 4) ** 2))
            img += glow[..., None] * np.array([255, 200, 120], np.float32) * rng.uniform(0.4, 1.0)
    if rng.random() < 0.8:  # sun or moon disc with a halo
        cy, cx, r = line * rng.uniform(0.15, 0.9), w * rng.uniform(0.1, 0.9), rng.uniform(8, 30)
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        colour = np.array([255, 245, 210] if name != "dusk" else [255, 170, 90], np.float32)
        disc = np.clip(r + 1 - d, 0, 1) + 0.5 * np.exp(-((d / (3 * r)) ** 2))
        img = img * (1 - disc.clip(0, 1)[..., None]) + colour * disc.clip(0, 1)[..., None]
    pic = Image.fromarray(img.clip(0, 255).astype(np.uint8), "RGB")
    blobs = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(blobs)
    for _ in range(int(rng.integers(1, 7))):  # clouds, trees, out-of-focus shapes
        x0, y0 = int(rng.integers(-40, w)), int(rng.integers(-20, h))
        box = (x0, y0, x0 + int(rng.integers(20, 160)), y0 + int(rng.integers(10, 90)))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3)) + (int(rng.integers(60, 200)),)
        (draw.ellipse if rng.random() < 0.7 else draw.rectangle)(box, fill=fill)
    pic = Image.alpha_composite(pic.convert("RGBA"), blobs.filter(ImageFilter.GaussianBlur(rng.uniform(2, 10))))
    # The cheap phone: colour cast, sensor grain, soft lens, heavy JPEG.
    arr = np.asarray(pic.convert("RGB"), np.float32) * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    arr += rng.normal(0.0, rng.uniform(3, 12), arr.shape).astype(np.float32)
    pic = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    pic = pic.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    pic.save(folder / f"photo_{i:03d}.jpg", "JPEG", quality=int(rng.integers(15, 26)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ciel_node.crack.found", description=__doc__)
    parser.add_argument("out", type=Path, help="folder to create (new, empty, or an earlier found archive)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same archive (default 0)")
    parser.add_argument("--small", action="store_true", help="a few files of each kind, for tests")
    args = parser.parse_args(argv)
    counts = SMALL if args.small else {}
    try:
        out = build_found_archive(args.out, seed=args.seed, **counts)
    except CielError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files = [p for p in out.rglob("*") if p.is_file() and p.name != _MARKER]
    print(f"found archive in {out}: {len(files)} files, {sum(p.stat().st_size for p in files)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
