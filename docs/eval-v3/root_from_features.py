"""python root_from_features.py SET [SET ...] : how often do the mix features alone name the chord root?

Per latent frame of the first 24 songs of each data set (a synthvN set: its valid split), on the clean
sum of the non-bass stems (no effects), against the song's chords.json:
  - set-1 template: the root of the best major/minor triad over feature set 1's 12-bin CQT chroma;
  - set-1 bass argmax: the argmax of feature set 1's bass-register chroma;
  - set-2 root: the chord root madmom's recogniser gives (feature set 2, chord_features).
Run in the runs folder (e.g. `python root_from_features.py ood4_dev ood_dev synth9`).
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from groundbass.core.chord_features import chord_features
from groundbass.core.data.manifest import read_manifest
from groundbass.core.features import estimate_tuning, mix_features
from groundbass.core.metrics import load_chords

RATE, RATIO = 22050, 2048


def triad_roots(chroma: np.ndarray) -> np.ndarray:
    """(12, T) chroma -> (T,) the root of the strongest major or minor triad."""
    score = np.stack([chroma[r] + np.maximum(chroma[(r + 4) % 12], chroma[(r + 3) % 12]) + chroma[(r + 7) % 12]
                      for r in range(12)])
    return score.argmax(0)


def main(sets: list[str]) -> None:
    for name in sets:
        root = Path(name)
        split = "valid" if name.startswith("synth") else None
        hits: dict[str, list[float]] = {"set-1 template": [], "set-1 bass argmax": [], "set-2 root": []}
        for song in read_manifest(root / "manifest.jsonl"):
            if split and song.split != split:
                continue
            mix = sum(sf.read(p, dtype="float32", always_2d=True)[0].mean(axis=1) for p in song.others)
            frames = len(mix) // RATIO
            tuning = estimate_tuning(mix, RATE)
            one = mix_features(mix, RATE, frames, RATIO, tuning)
            two = chord_features(mix, RATE, frames, RATIO, tuning)
            centre = (np.arange(frames) + 0.5) * RATIO / RATE
            truth = np.full(frames, -1)
            for ch in load_chords(song.chords):
                truth[(centre >= ch["start"]) & (centre < ch["end"])] = ch["root"]
            ok = truth >= 0
            found = {"set-1 template": triad_roots(one[:12]), "set-1 bass argmax": one[12:24].argmax(0),
                     "set-2 root": np.where(two[12:24].sum(0) > 0, two[12:24].argmax(0), -1)}
            for k, est in found.items():
                hits[k].append(float((est[ok] == truth[ok]).mean()))
            if len(hits["set-2 root"]) == 24:
                break
        print(f"{name} ({len(hits['set-2 root'])} songs): "
              + ", ".join(f"{k} {np.mean(v):.3f}" for k, v in hits.items()), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
