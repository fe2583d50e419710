"""python cmp.py REPORT [REPORT ...] : the headline figures of several `groundbass eval` reports side by side.

A REPORT is a report folder (its metrics.json), a metrics.json, or a JSON copied into docs/eval-v3
(tags are tried as reports/TAG/metrics.json, then docs/eval-v3/TAG.json). Paired differences per
song are printed for the chord-tone rate and pitch-class agreement against the first report, with
the standard error of the mean, when both reports hold the same songs."""
import json
import math
import sys
from pathlib import Path

KEYS = ["chord_tone_rate", "pitch_class_agreement", "matching_accuracy", "onset_offset_ms", "frechet_logmel",
        "chord_tone_rate_grounded", "grounding_cosine_reduction", "pitch_class_agreement_heuristic"]
HERE = Path(__file__).resolve().parent


def load(tag: str) -> dict:
    for p in (Path(tag), Path(tag) / "metrics.json", Path("reports") / tag / "metrics.json", HERE / f"{tag}.json"):
        if p.is_file():
            return json.loads(p.read_text())
    sys.exit(f"{tag}: no metrics.json found")


def per_song(rep: dict, key: str) -> dict:
    rows = rep.get("per_song") or []
    return {r["song"]: r[key] for r in rows if isinstance(r, dict) and "song" in r and key in r}


def main(tags: list[str]) -> None:
    reps = [load(t) for t in tags]
    width = max(len(t) for t in tags)
    print(" " * width + "  " + " ".join(f"{k[:12]:>12}" for k in KEYS))
    for t, r in zip(tags, reps):
        m = r.get("metrics", r)
        print(f"{t:<{width}}  " + " ".join(f"{m.get(k, float('nan')):12.4f}" for k in KEYS))
    for key in ("chord_tone_rate", "pitch_class_agreement"):
        base = per_song(reps[0], key)
        for t, r in zip(tags[1:], reps[1:]):
            other = per_song(r, key)
            common = [s for s in base if s in other and not (math.isnan(base[s]) or math.isnan(other[s]))]
            if len(common) < 2:
                continue
            d = [other[s] - base[s] for s in common]
            mean = sum(d) / len(d)
            se = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1) / len(d))
            print(f"{key} {t} - {tags[0]}: {mean:+.4f} +- {se:.4f} over {len(common)} songs")


if __name__ == "__main__":
    main(sys.argv[1:])
