"""Post-processing of a generated bass stem with pedalboard: presets, JSON chain files,
loudness targets and a true-peak-safe final limiter.

A *chain spec* is a list of plugin dicts, the same format for the built-in presets and
for user chain files::

    {"chain": [
        {"plugin": "HighpassFilter", "cutoff_frequency_hz": 30},
        {"plugin": "Compressor", "threshold_db": -18, "ratio": 3},
        {"vst3": "/path/to/Saturator.vst3", "params": {"drive": 0.3}}
     ],
     "ceiling_db": -1.0,          # final true-peak ceiling in dBFS; null switches it off
     "latency_samples": 0}        # chain latency to compensate (plugins with look-ahead)

A bare JSON list is read as ``{"chain": [...]}``. ``"plugin"`` names any pedalboard
built-in plugin class (``pedalboard.Compressor`` ...); other keys are its constructor
arguments. ``"vst3"`` names a VST3 file loaded with ``pedalboard.load_plugin``; ``params``
are set as attributes on the loaded plugin.

The chain is built once per call and run over the audio in chunks with ``reset=False``;
``latency_samples`` of silence are fed after the end to flush the tail and the result is
cropped to the input's exact length. The final limiter (:func:`true_peak_limit`) is a
look-ahead gain-envelope limiter on a 4x-oversampled peak estimate, so no sample and no
inter-sample peak exceeds the ceiling.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pedalboard
import soxr

__all__ = ["PRESETS", "ChainError", "ChainSpec", "load_chain_spec", "build_board", "run_board",
           "true_peak", "true_peak_limit", "integrated_loudness", "apply_gain_db", "apply_postfx",
           "DEFAULT_CEILING_DB", "MATCH_MIX_OFFSET_LU", "board_bounds", "limiter_gain", "loudness_target",
           "level_change"]

log = logging.getLogger(__name__)

DEFAULT_CEILING_DB = -1.0
"""The limiter ceiling in dBFS used by every preset except ``none``."""

MATCH_MIX_OFFSET_LU = -6.0
"""``match_mix``: the bass is set this many LU relative to the mix's integrated loudness."""

CHUNK_SAMPLES = 65536
_MIN_BLOCK = 64
_OVERSAMPLE = 4
_SAFETY = 10 ** (-0.01 / 20)  # 0.01 dB below the ceiling, so PCM rounding cannot cross it

PRESETS: dict[str, list[dict]] = {
    "none": [],
    "clean": [
        {"plugin": "HighpassFilter", "cutoff_frequency_hz": 30.0},
        {"plugin": "Compressor", "threshold_db": -18.0, "ratio": 2.0, "attack_ms": 15.0, "release_ms": 150.0},
    ],
    "warm": [
        {"plugin": "HighpassFilter", "cutoff_frequency_hz": 30.0},
        {"plugin": "LowShelfFilter", "cutoff_frequency_hz": 120.0, "gain_db": 2.0, "q": 0.7},
        {"plugin": "Distortion", "drive_db": 6.0},
        {"plugin": "Gain", "gain_db": -4.0},
        {"plugin": "LowpassFilter", "cutoff_frequency_hz": 3000.0},
        {"plugin": "Compressor", "threshold_db": -18.0, "ratio": 2.0, "attack_ms": 15.0, "release_ms": 150.0},
    ],
    "punchy": [
        {"plugin": "HighpassFilter", "cutoff_frequency_hz": 35.0},
        {"plugin": "PeakFilter", "cutoff_frequency_hz": 90.0, "gain_db": 3.0, "q": 1.0},
        {"plugin": "PeakFilter", "cutoff_frequency_hz": 800.0, "gain_db": 2.5, "q": 1.2},
        {"plugin": "Compressor", "threshold_db": -22.0, "ratio": 4.0, "attack_ms": 20.0, "release_ms": 80.0},
        {"plugin": "Gain", "gain_db": 3.0},
    ],
    "sub": [
        {"plugin": "HighpassFilter", "cutoff_frequency_hz": 25.0},
        {"plugin": "LowpassFilter", "cutoff_frequency_hz": 120.0},
        {"plugin": "LowpassFilter", "cutoff_frequency_hz": 120.0},
        {"plugin": "Compressor", "threshold_db": -20.0, "ratio": 3.0, "attack_ms": 25.0, "release_ms": 150.0},
        {"plugin": "Gain", "gain_db": 3.0},
    ],
}

# pedalboard classes that are containers or loaders, not plugins one names in a chain
_NOT_NAMEABLE = {"Plugin", "Pedalboard", "Chain", "Mix", "PluginContainer", "ExternalPlugin", "VST3Plugin",
                 "AudioUnitPlugin"}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


class ChainError(ValueError):
    """A preset name or chain file that cannot be used (message names the file and item)."""


@dataclass
class ChainSpec:
    """A parsed chain: plugin dicts, the limiter ceiling (dBFS or None) and the chain latency."""

    plugins: list[dict] = field(default_factory=list)
    ceiling_db: float | None = DEFAULT_CEILING_DB
    latency_samples: int = 0
    source: str = "none"


def _plugin_names() -> list[str]:
    names = []
    for n in dir(pedalboard):
        obj = getattr(pedalboard, n)
        if isinstance(obj, type) and issubclass(obj, pedalboard.Plugin) and n not in _NOT_NAMEABLE \
                and not n.startswith("_"):
            names.append(n)
    return sorted(names)


def load_chain_spec(fx: str | Path) -> ChainSpec:
    """A preset name (``none``, ``clean``, ``warm``, ``punchy``, ``sub``) or a JSON chain file
    path -> :class:`ChainSpec`. Raises :class:`ChainError` with a one-line message."""
    key = str(fx)
    if key in PRESETS:
        return ChainSpec(list(PRESETS[key]), None if key == "none" else DEFAULT_CEILING_DB, 0, key)
    path = Path(key)
    if path.suffix.lower() != ".json":
        raise ChainError(f"unknown fx preset {key!r} (presets: {', '.join(PRESETS)}; or a .json chain file)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChainError(f"{path}: chain file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChainError(f"{path}: cannot read chain file ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChainError(f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    if isinstance(data, list):
        data = {"chain": data}
    if not isinstance(data, dict) or not isinstance(data.get("chain"), list):
        raise ChainError(f"{path}: expected a JSON list of plugins or an object with a \"chain\" list")
    unknown = set(data) - {"chain", "ceiling_db", "latency_samples"}
    if unknown:
        raise ChainError(f"{path}: unknown top-level key(s) {sorted(unknown)}")
    ceiling = data.get("ceiling_db", DEFAULT_CEILING_DB)
    if ceiling is not None and (not isinstance(ceiling, (int, float)) or isinstance(ceiling, bool) or ceiling > 0):
        raise ChainError(f"{path}: ceiling_db must be a number <= 0 dBFS or null, got {ceiling!r}")
    latency = data.get("latency_samples", 0)
    if not isinstance(latency, int) or isinstance(latency, bool) or latency < 0:
        raise ChainError(f"{path}: latency_samples must be a non-negative integer, got {latency!r}")
    for i, item in enumerate(data["chain"], 1):
        if not isinstance(item, dict) or ("plugin" in item) == ("vst3" in item):
            raise ChainError(f"{path}: item {i}: expected an object with either \"plugin\" or \"vst3\"")
    spec = ChainSpec(list(data["chain"]), None if ceiling is None else float(ceiling), latency, str(path))
    build_board(spec, 44100)  # validate names and parameters now, with a message naming the file
    return spec


def _build_plugin(item: dict, sample_rate: int, where: str) -> pedalboard.Plugin:
    if "vst3" in item:
        extra = set(item) - {"vst3", "params", "plugin_name"}
        if extra:
            raise ChainError(f"{where}: unknown key(s) {sorted(extra)} for a vst3 item (use \"params\")")
        if not Path(str(item["vst3"])).exists():
            raise ChainError(f"{where}: cannot load VST3 {item['vst3']!r} (file not found)")
        try:
            plugin = pedalboard.load_plugin(str(item["vst3"]), plugin_name=item.get("plugin_name"))
        except (ImportError, OSError, RuntimeError, ValueError) as exc:
            raise ChainError(f"{where}: cannot load VST3 {item['vst3']!r} ({_one_line(exc)})") from None
        for key, value in (item.get("params") or {}).items():
            try:
                setattr(plugin, key, value)
            except (AttributeError, ValueError, TypeError) as exc:
                raise ChainError(f"{where}: VST3 parameter {key!r}={value!r} rejected ({_one_line(exc)})") from None
        return plugin
    name = item["plugin"]
    if not isinstance(name, str) or name not in _plugin_names():
        raise ChainError(f"{where}: unknown plugin {name!r} (known: {', '.join(_plugin_names())})")
    kwargs = {k: v for k, v in item.items() if k != "plugin"}
    cls = getattr(pedalboard, name)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ChainError(f"{where}: bad parameters for {name} ({_one_line(exc)})") from None
    except (ValueError, RuntimeError) as exc:
        raise ChainError(f"{where}: {name} rejected its parameters ({_one_line(exc)})") from None


def build_board(spec: ChainSpec, sample_rate: int) -> pedalboard.Pedalboard:
    """Build the pedalboard for ``spec`` once (plugins in order). Raises :class:`ChainError`."""
    del sample_rate  # pedalboard plugins take the rate at process time
    return pedalboard.Pedalboard([_build_plugin(item, 0, f"{spec.source}: item {i}")
                                  for i, item in enumerate(spec.plugins, 1)])


def run_board(board: pedalboard.Pedalboard, audio: np.ndarray, sample_rate: int, *,
              latency_samples: int = 0, chunk: int = CHUNK_SAMPLES) -> np.ndarray:
    """Run ``audio`` ((samples,) or (samples, channels) float32) through ``board`` in chunks
    with ``reset=False``; flush ``latency_samples`` of silence and drop that many leading
    samples. Returns float32 audio of exactly the input's shape (an empty board: the input
    itself when it is float32 already, not a copy)."""
    if len(board) == 0:
        return audio.astype(np.float32, copy=False)
    mono = audio.ndim == 1
    x = np.ascontiguousarray((audio[:, None] if mono else audio).T, dtype=np.float32)  # (ch, n)
    n = x.shape[1]
    # every block handed to pedalboard is >= _MIN_BLOCK samples so its (channels, samples)
    # layout is never ambiguous
    if n < _MIN_BLOCK:
        x = np.pad(x, ((0, 0), (0, _MIN_BLOCK - n)))
    bounds = board_bounds(x.shape[1], chunk)
    board.reset()
    parts = [board.process(x[:, a:b], sample_rate, reset=False) for a, b in bounds]
    if latency_samples:
        flush = max(latency_samples, _MIN_BLOCK)
        parts.append(board.process(np.zeros((x.shape[0], flush), np.float32), sample_rate, reset=False))
    y = np.concatenate(parts, axis=1)[:, latency_samples:latency_samples + n]
    if y.shape[1] < n:
        y = np.pad(y, ((0, 0), (0, n - y.shape[1])))
    y = np.ascontiguousarray(y.T, dtype=np.float32)
    return y[:, 0] if mono else y


def board_bounds(n: int, chunk: int = CHUNK_SAMPLES) -> list[tuple[int, int]]:
    """The (start, stop) chunks :func:`run_board` hands the board for ``n`` >= ``_MIN_BLOCK``
    samples: ``chunk`` at a time, a last chunk shorter than ``_MIN_BLOCK`` joined to the one
    before it (so no block's layout is ambiguous)."""
    starts = list(range(0, n, chunk))
    if len(starts) > 1 and n - starts[-1] < _MIN_BLOCK:
        starts.pop()
    return list(zip(starts, starts[1:] + [n]))


def _per_sample_true_peak(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """(samples, channels) -> (samples,) max over channels of |x| and of the 4x-oversampled
    signal around each sample (an inter-sample peak estimate)."""
    n = x.shape[0]
    if x.shape[1] > 1 and all(np.array_equal(x[:, 0], x[:, c]) for c in range(1, x.shape[1])):
        x = x[:, :1]  # identical channels (a mono bass written to every channel): measure one
    # soxr "HQ" (20-bit, steep) is accurate far below the limiter's safety margin and 10x
    # faster than "VHQ" on a 3-minute song.
    up = _abs_max_over_channels(soxr.resample(x, sample_rate, sample_rate * _OVERSAMPLE, quality="HQ"))
    up = np.pad(up, (0, max(0, n * _OVERSAMPLE - len(up))))[:n * _OVERSAMPLE]
    per_sample = up[0::_OVERSAMPLE].copy()  # max over each sample's oversampled points
    for k in range(1, _OVERSAMPLE):
        np.maximum(per_sample, up[k::_OVERSAMPLE], out=per_sample)
    up = per_sample
    return np.maximum(_abs_max_over_channels(x), up)


def _abs_max_over_channels(x: np.ndarray) -> np.ndarray:
    """(samples, channels) -> (samples,) max |x| over channels (a column loop: numpy's
    ``max(axis=1)`` over 2 channels is ~10x slower on long signals)."""
    out = np.abs(x[:, 0])
    for c in range(1, x.shape[1]):
        np.maximum(out, np.abs(x[:, c]), out=out)
    return out


def true_peak(audio: np.ndarray, sample_rate: int) -> float:
    """Estimated true peak of ``audio`` (linear, 4x oversampled, max over channels)."""
    x = audio[:, None] if audio.ndim == 1 else audio
    return float(_per_sample_true_peak(x.astype(np.float32), sample_rate).max()) if len(x) else 0.0


def true_peak_limit(audio: np.ndarray, sample_rate: int, ceiling_db: float = DEFAULT_CEILING_DB, *,
                    lookahead_ms: float = 20.0) -> np.ndarray:
    """Limit ``audio`` so that no sample and no (4x-oversampled) inter-sample peak exceeds
    ``ceiling_db`` dBFS. Linked gain across channels; attack and release are a
    ``lookahead_ms`` look-ahead hold plus smoothing (no clipping distortion on bass cycles).
    Returns float32 audio of the same shape."""
    x = (audio[:, None] if audio.ndim == 1 else audio).astype(np.float32)
    if x.shape[0] == 0:
        return audio.astype(np.float32)
    ceiling = 10 ** (ceiling_db / 20) * _SAFETY
    peak = _per_sample_true_peak(x, sample_rate)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    g = limiter_gain(need, max(1, int(sample_rate * lookahead_ms / 1000)))
    if g is not None:
        x = x * g[:, None].astype(np.float32)
    # the gain envelope can move inter-sample peaks a little: a final exact check and trim
    for _ in range(4):
        tp = float(_per_sample_true_peak(x, sample_rate).max())
        if tp <= ceiling:
            break
        x = x * np.float32(ceiling / tp * 0.999)
    x = np.clip(x, -ceiling, ceiling)
    return x[:, 0] if audio.ndim == 1 else x


def limiter_gain(need: np.ndarray, hold: int) -> np.ndarray | None:
    """The limiter's gain envelope for the per-sample gains ``need`` (<= 1) with a look-ahead
    of ``hold`` samples; None when no sample needs limiting (gain 1 everywhere)."""
    if need.min() >= 1.0:
        return None
    from scipy.ndimage import minimum_filter1d, uniform_filter1d  # 0.2 s to import: only when limiting

    # min over +-hold, then a moving average of width <= hold: every sample's gain stays
    # <= the gain needed at every sample within hold/2 of it, so the ceiling holds
    g = minimum_filter1d(need, size=2 * hold + 1, mode="nearest")
    g = uniform_filter1d(g, size=hold, mode="nearest")
    return np.minimum(g, need)


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float | None:
    """ITU-R BS.1770 integrated loudness in LUFS (pyloudnorm), or None for audio that is
    silent or shorter than one 400 ms gating block."""
    import pyloudnorm

    if audio.shape[0] < int(0.4 * sample_rate) + 1:
        return None
    value = pyloudnorm.Meter(sample_rate).integrated_loudness(audio.astype(np.float64))
    return float(value) if np.isfinite(value) else None


def apply_gain_db(audio: np.ndarray, gain_db: float) -> np.ndarray:
    """``audio`` scaled by ``gain_db`` decibels (float32)."""
    return (audio * np.float32(10 ** (gain_db / 20))).astype(np.float32)


def apply_postfx(audio: np.ndarray, sample_rate: int, fx: str | Path | ChainSpec = "none", *,
                 loudness: float | None = None, match_mix: np.ndarray | None = None) -> np.ndarray:
    """Post-process a bass stem: the chain ``fx`` (preset name, chain-file path or spec), then
    an optional loudness target (``loudness`` in LUFS, or ``match_mix`` = the mix at the same
    rate, putting the bass :data:`MATCH_MIX_OFFSET_LU` relative to it), then the true-peak
    limiter at the chain's ceiling. Gain changes always end in the limiter (-1 dBFS when the
    chain has none). Returns float32 audio of exactly the input's shape."""
    if loudness is not None and match_mix is not None:
        raise ValueError("choose either a loudness target or match_mix, not both")
    spec = fx if isinstance(fx, ChainSpec) else load_chain_spec(fx)
    board = build_board(spec, sample_rate)
    y = run_board(board, audio, sample_rate, latency_samples=spec.latency_samples)
    match = match_mix is not None
    target = loudness_target(loudness, match, integrated_loudness(match_mix, sample_rate) if match else None)
    gain_db, ceiling = level_change(target, integrated_loudness(y, sample_rate) if target is not None else None,
                                    spec.ceiling_db)
    if gain_db is not None:
        y = apply_gain_db(y, gain_db)
    if ceiling is not None:
        y = true_peak_limit(y, sample_rate, ceiling)
    return y


def loudness_target(loudness: float | None, match_mix: bool, mix_lufs: float | None) -> float | None:
    """The bass's loudness target in LUFS: ``loudness``, or with ``match_mix`` the mix's
    ``mix_lufs`` plus :data:`MATCH_MIX_OFFSET_LU` (None, with a warning, for a mix that could
    not be measured); None: no target."""
    if not match_mix:
        return loudness
    if mix_lufs is None:
        log.warning("match_mix: the mix is silent or too short to measure; level left as is")
        return None
    return mix_lufs + MATCH_MIX_OFFSET_LU


def level_change(target: float | None, current: float | None,
                 ceiling_db: float | None) -> tuple[float | None, float | None]:
    """(gain in dB or None, the limiter ceiling then) that brings a bass measured at ``current``
    LUFS to ``target``: a gain change always ends in a limiter (-1 dBFS when the chain has none).
    A bass that could not be measured keeps its level (with a warning)."""
    if target is None:
        return None, ceiling_db
    if current is None:
        log.warning("loudness: the bass is silent or too short to measure; level left as is")
        return None, ceiling_db
    return float(target) - current, DEFAULT_CEILING_DB if ceiling_db is None else ceiling_db
