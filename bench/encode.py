"""The published MP3 (issue 18, Build 3): time, encodes, decoded peak vs ceiling, spectral distance, bytes.

    python bench/encode.py              # pieces rendered from checkpoints/ + synthetic hard cases
    python bench/encode.py --pieces 2   # fewer rendered pieces

Candidates, each on the same sounds:
- `loop`: the old encode_mp3 (libsndfile, decode, re-encode quieter while the decoded peak overshoots);
- `sf_truepeak`: libsndfile, pre-scaled by a margin over the 4x-oversampled (true) peak, checked after;
- `lame_abr32`, `lame_cbr32`: ffmpeg's libmp3lame through PyAV at libsndfile's rate (~32 kbit/s), pre-scaled by
  piece.MP3_MARGIN_DB over the sample peak, checked after;
- `now`: ciel_node.generate.piece.encode_mp3 as it is (libsndfile, MP3_MARGIN_DB over the sample peak).
`--ratios`: the decoded peak over the sample peak and over the true peak of a plain libsndfile encode, per sound:
the data MP3_MARGIN_DB is chosen from.
Spectral distance: log-spectral distance (dB, STFT 512/128 Hann, power floored at -100 dB re full scale) between
the WAV and the decoded MP3, after the best-fit gain (the level is reported apart, as dB under the ceiling) and
alignment by cross-correlation. Lower is better.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciel_node.generate import piece as piece_mod  # noqa: E402
from ciel_node.generate.audio import db_to_gain  # noqa: E402

SR = 16000
Encoder = Callable[[np.ndarray, int, float], tuple[bytes, int]]


def sf_decode(data: bytes) -> np.ndarray:
    return sf.read(io.BytesIO(data), dtype="float32")[0]


def av_decode(data: bytes) -> np.ndarray:
    import av

    with av.open(io.BytesIO(data), mode="r") as c:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(c.streams.audio[0])])


def old_loop(samples: np.ndarray, sr: int, ceiling_db: float, tries: int = 4) -> tuple[bytes, int]:
    """encode_mp3 before issue 18, frozen here so 'before' stays measurable."""
    ceiling = db_to_gain(ceiling_db)
    x = samples.astype(np.float32)
    data, n = b"", 0
    for _ in range(tries):
        buf = io.BytesIO()
        sf.write(buf, x, sr, format="MP3", subtype="MPEG_LAYER_III")
        n += 1
        data = buf.getvalue()
        buf.seek(0)
        decoded, _ = sf.read(buf, dtype="float32")
        peak = float(np.max(np.abs(decoded))) if len(decoded) else 0.0
        if peak <= ceiling:
            return data, n
        x = x * np.float32(ceiling / peak * 0.97)
    return data, n


def now(samples: np.ndarray, sr: int, ceiling_db: float) -> tuple[bytes, int]:
    stats: dict[str, int] = {}
    data = piece_mod.encode_mp3(samples, sr, ceiling_db, stats=stats)
    return data, stats.get("encodes", 0)


def sf_raw(x: np.ndarray, sr: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="MP3", subtype="MPEG_LAYER_III")
    return buf.getvalue()


def lame_raw(x: np.ndarray, sr: int, bit_rate: int = 32000, abr: bool = False) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3", options={"fflags": "+bitexact", "write_id3v1": "0", "id3v2_version": "0"}) \
            as out:
        stream = out.add_stream("libmp3lame", rate=sr, options={"abr": "1"} if abr else {})
        stream.layout = "mono"
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
        frame.sample_rate = sr
        fit = av.AudioResampler(format="s16p", layout="mono", rate=sr, frame_size=576)
        for f in [*fit.resample(frame), *fit.resample(None)]:
            for p in stream.encode(f):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return buf.getvalue()


def sample_peak(x: np.ndarray, sr: int) -> float:
    return float(np.max(np.abs(x), initial=0.0))


def with_headroom(raw: Callable[[np.ndarray, int], bytes], decode: Callable[[bytes], np.ndarray],
                  margin_db: float, predictor: Callable[[np.ndarray, int], float] = sample_peak) -> Encoder:
    """Scale by a predicted headroom once, verify by decoding, re-encode quieter only if it still overshoots."""
    def enc(samples: np.ndarray, sr: int, ceiling_db: float) -> tuple[bytes, int]:
        ceiling = db_to_gain(ceiling_db)
        x = samples.astype(np.float32)
        pk = predictor(x, sr)
        g = min(1.0, ceiling / (pk * db_to_gain(margin_db))) if pk > 0 else 1.0
        x = x * np.float32(g)
        n = 0
        for _ in range(4):
            data = raw(x, sr)
            n += 1
            peak = float(np.max(np.abs(decode(data)), initial=0.0))
            if peak <= ceiling:
                return data, n
            x = x * np.float32(ceiling / peak * 0.97)
        return data, n
    return enc


def true_peak(x: np.ndarray, sr: int) -> float:
    import soxr

    return float(np.max(np.abs(soxr.resample(x, sr, 4 * sr, quality="LQ")), initial=0.0))


def lsd_db(ref: np.ndarray, dec: np.ndarray) -> float:
    """Log-spectral distance after alignment and the best-fit gain."""
    n = min(len(ref), len(dec))
    # align: the lag in [-2048, 2048] with the largest cross-correlation
    m = 1 << int(np.ceil(np.log2(len(ref) + len(dec))))
    cc = np.fft.irfft(np.fft.rfft(dec, m) * np.conj(np.fft.rfft(ref, m)), m)
    lags = np.r_[np.arange(0, 2049), np.arange(-2048, 0)]
    lag = int(lags[np.argmax(cc[lags])])
    if lag >= 0:
        d, r = dec[lag:lag + n], ref[:n]
    else:
        d, r = dec[:n], ref[-lag:-lag + n]
    n = min(len(d), len(r))
    d, r = d[:n].astype(np.float64), r[:n].astype(np.float64)
    g = float(np.dot(d, r) / max(np.dot(d, d), 1e-20))
    d = d * g
    win = np.hanning(512)
    frames = (n - 512) // 128
    if frames <= 0:
        return float("nan")
    idx = np.arange(512)[None, :] + 128 * np.arange(frames)[:, None]
    floor = 1e-10 * 512
    pr = np.abs(np.fft.rfft(r[idx] * win)) ** 2 + floor
    pd = np.abs(np.fft.rfft(d[idx] * win)) ** 2 + floor
    loud = r[idx].std(axis=1) > 1e-4  # silent frames say nothing about the codec
    diff = 10 * np.log10(pr[loud] / pd[loud])
    return float(np.mean(np.sqrt(np.mean(diff ** 2, axis=1))))


def synthetic(ceiling_db: float) -> dict[str, np.ndarray]:
    c = db_to_gain(ceiling_db) * 0.999
    rng = np.random.default_rng(7)
    t = np.arange(SR * 4) / SR
    square = c * np.sign(np.sin(2 * np.pi * 440 * t))
    bursts = np.zeros_like(t)
    for k in range(8):
        a = int(k * 0.5 * SR)
        bursts[a:a + SR // 10] = np.clip(rng.standard_normal(SR // 10) * c / 2.5, -c, c)
    nyq = c * np.sin(2 * np.pi * 7900 * t)
    clicks = np.zeros_like(t)
    clicks[:: SR // 4] = c
    return {"square": square.astype(np.float32), "bursts": bursts.astype(np.float32),
            "sine7900": nyq.astype(np.float32), "clicks": clicks.astype(np.float32)}


def pieces(n: int) -> list[tuple[str, np.ndarray, float]]:
    import torch

    from ciel_node.generate.audio import AudioRenderer
    from ciel_node.generate.image import ImageRenderer
    from ciel_node.generate.piece import Composer
    from ciel_node.models.audio_vae import SpectralVAE
    from ciel_node.models.image_gan import Generator
    from ciel_node.state import Controls

    torch.set_num_threads(1)
    vae, _ = SpectralVAE.from_checkpoint(ROOT / "checkpoints" / "audio.pt")
    gen, _ = Generator.from_checkpoint(ROOT / "checkpoints" / "images.pt")
    comp = Composer(AudioRenderer(vae), ImageRenderer(gen))
    out = []
    for i in range(n):
        ceiling = (-6.0, -1.0, -20.0)[i % 3]
        controls = Controls(interval=30.0, seed=100 + i, drift=0.3 + 0.1 * (i % 4), volume_ceiling=ceiling)
        state = comp.start(controls.seed)
        for _ in range(1 + i % 3):
            p, state = comp.compose(state, controls)
        out.append((f"piece{i}", p.samples.astype(np.float32), ceiling))
    return out


def compose_times(n: int, repeats: int) -> int:
    """Median Composer.compose time for 30 s pieces, with the codec margins at 0 (as before issue 18) and as now."""
    import torch

    from ciel_node.generate.audio import AudioRenderer
    from ciel_node.generate.image import ImageRenderer
    from ciel_node.generate.piece import Composer
    from ciel_node.models.audio_vae import SpectralVAE
    from ciel_node.models.image_gan import Generator
    from ciel_node.state import Controls

    torch.set_num_threads(1)
    vae, _ = SpectralVAE.from_checkpoint(ROOT / "checkpoints" / "audio.pt")
    gen, _ = Generator.from_checkpoint(ROOT / "checkpoints" / "images.pt")
    comp = Composer(AudioRenderer(vae), ImageRenderer(gen))
    margins = (piece_mod.MP3_MARGIN_DB, piece_mod.OPUS_MARGIN_DB)
    times: dict[str, list[float]] = {"before": [], "after": []}
    comp.compose(comp.start(0), Controls(interval=30.0, seed=0))  # warm-up
    for _ in range(repeats):
        for i in range(n):
            controls = Controls(interval=30.0, seed=100 + i, drift=0.5, volume_ceiling=(-6.0, -1.0, -20.0)[i % 3])
            for label, (m, o) in (("before", (0.0, 0.0)), ("after", margins)):
                piece_mod.MP3_MARGIN_DB, piece_mod.OPUS_MARGIN_DB = m, o
                t0 = time.perf_counter()
                comp.compose(comp.start(controls.seed), controls)
                times[label].append(time.perf_counter() - t0)
    piece_mod.MP3_MARGIN_DB, piece_mod.OPUS_MARGIN_DB = margins
    for label, ts in times.items():
        print(f"compose 30 s piece, 1 thread, {label}: median {statistics.median(ts):.3f} s over {len(ts)}")
    return 0


def opus_times(sounds: list[tuple[str, np.ndarray, float]], repeats: int) -> int:
    """encode_opus with OPUS_MARGIN_DB at 0 (the old loop) and as now: time, encodes, decoded level."""
    margin = piece_mod.OPUS_MARGIN_DB
    rows: dict[str, list[tuple[float, int, float]]] = {"before": [], "after": []}
    for sname, x, c in sounds:
        if not sname.startswith("piece"):
            continue
        for label, m in (("before", 0.0), ("after", margin)):
            piece_mod.OPUS_MARGIN_DB = m
            ts, stats = [], {"encodes": 0}
            for _ in range(repeats):
                t0 = time.perf_counter()
                data = piece_mod.encode_opus(x, SR, c, stats=stats)
                ts.append(time.perf_counter() - t0)
            level = 20 * np.log10(piece_mod._decoded_peak(data) / db_to_gain(c))
            rows[label].append((statistics.median(ts), stats["encodes"], level))
    piece_mod.OPUS_MARGIN_DB = margin
    for label, r in rows.items():
        print(f"opus {label}: median {1000 * statistics.median(t for t, _, _ in r):.0f} ms, encodes/piece "
              f"{statistics.mean(n for _, n, _ in r):.2f}, decoded peak {statistics.mean(v for _, _, v in r):+.2f} dB "
              f"re ceiling (worst {max(v for _, _, v in r):+.2f})")
    return 0


def run(encoders: dict[str, Encoder], sounds: list[tuple[str, np.ndarray, float]], repeats: int) -> dict:
    """Each encoder on each sound; timings interleaved (sound by sound, encoder by encoder) so a busy machine's
    drift falls on every candidate alike."""
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for sname, x, ceiling_db in sounds:
            for name, enc in encoders.items():
                t0 = time.perf_counter()
                enc(x, SR, ceiling_db)
                times.setdefault((name, sname), []).append(time.perf_counter() - t0)
    res: dict = {}
    for name, enc in encoders.items():
        rows = []
        for sname, x, ceiling_db in sounds:
            data, n = enc(x, SR, ceiling_db)
            again, _ = enc(x, SR, ceiling_db)
            dec_sf, dec_av = sf_decode(data), av_decode(data)
            ceiling = db_to_gain(ceiling_db)
            peak = max(float(np.abs(dec_sf).max()), float(np.abs(dec_av).max()))
            rows.append({"sound": sname, "ms": 1000 * statistics.median(times[name, sname]), "encodes": n,
                         "bytes": len(data), "peak_vs_ceiling_db": 20 * np.log10(peak / ceiling),
                         "lsd_db": lsd_db(x, dec_av), "len_ok": abs(len(dec_av) - len(x)) <= 1152,
                         "same_bytes": again == data, "kbps": len(data) * 8 / (len(x) / SR) / 1000})
        res[name] = rows
    return res


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pieces", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--which", default="loop,sf_truepeak,lame_abr32,lame_cbr32,now")
    ap.add_argument("--truepeak-margin-db", type=float, default=1.5)
    ap.add_argument("--ratios", action="store_true")
    ap.add_argument("--opus", action="store_true", help="encode_opus on the pieces: OPUS_MARGIN_DB 0 against now")
    ap.add_argument("--compose", action="store_true", help="whole 30 s piece renders (1 thread): margins 0 (the old "
                    "loop: same first encode, same retries) against today's")
    ap.add_argument("--digest", action="store_true", help="print a hash of `now`'s bytes (cross-process check)")
    args = ap.parse_args()
    if args.compose:
        return compose_times(args.pieces, args.repeats)
    sounds = pieces(args.pieces)
    if args.opus:
        return opus_times(sounds, args.repeats)
    for c in (-6.0, -1.0, -20.0):
        sounds += [(f"{k}@{c:g}", v, c) for k, v in synthetic(c).items()]
    if args.digest:
        import hashlib

        h = hashlib.sha256(b"".join(piece_mod.encode_mp3(x, SR, c) for _, x, c in sounds)).hexdigest()
        print(h)
        return 0
    if args.ratios:
        for name, x, c in sounds:
            d = float(np.abs(sf_decode(sf_raw(x, SR))).max())
            print(f"{name:16} sample peak {20 * np.log10(sample_peak(x, SR) / db_to_gain(c)):+6.2f} dB re ceiling; "
                  f"decoded/sample peak {20 * np.log10(d / sample_peak(x, SR)):+.2f} dB, "
                  f"decoded/true peak {20 * np.log10(d / true_peak(x, SR)):+.2f} dB")
        return 0
    margin = piece_mod.MP3_MARGIN_DB
    all_enc: dict[str, Encoder] = {
        "loop": old_loop,
        "sf_truepeak": with_headroom(sf_raw, sf_decode, args.truepeak_margin_db, true_peak),
        "lame_abr32": with_headroom(lambda x, sr: lame_raw(x, sr, abr=True), av_decode, margin),
        "lame_cbr32": with_headroom(lambda x, sr: lame_raw(x, sr), av_decode, margin),
        "now": now,
    }
    encs = {k: all_enc[k] for k in args.which.split(",")}
    res = run(encs, sounds, args.repeats)
    print(f"{'encoder':10} {'sound':16} {'ms':>7} {'enc':>3} {'bytes':>7} {'kbps':>5} {'peak-ceil dB':>12} "
          f"{'LSD dB':>7} len same")
    for name, rows in res.items():
        for r in rows:
            print(f"{name:10} {r['sound']:16} {r['ms']:7.1f} {r['encodes']:3d} {r['bytes']:7d} {r['kbps']:5.1f} "
                  f"{r['peak_vs_ceiling_db']:12.2f} {r['lsd_db']:7.2f} {r['len_ok']!s:5} {r['same_bytes']!s}")
    print()
    for name, rows in res.items():
        pr = [r for r in rows if r["sound"].startswith("piece")]
        print(f"{name:10} pieces: median {statistics.median(r['ms'] for r in pr):.1f} ms, encodes/piece "
              f"{statistics.mean(r['encodes'] for r in pr):.2f}, "
              f"LSD {statistics.mean(r['lsd_db'] for r in pr):.2f} dB, "
              f"bytes {statistics.mean(r['bytes'] for r in pr):.0f}, worst peak "
              f"{max(r['peak_vs_ceiling_db'] for r in rows):+.2f} dB vs ceiling, mean level "
              f"{statistics.mean(r['peak_vs_ceiling_db'] for r in pr):+.2f} dB; all: encodes "
              f"{statistics.mean(r['encodes'] for r in rows):.2f}, deterministic {all(r['same_bytes'] for r in rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
