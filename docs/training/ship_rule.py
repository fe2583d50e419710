"""python ship_rule.py [CANDIDATE] : does a candidate (v38final unless given) replace the bundled v3.6.1?

Written before any of v3.8's figures were seen (as ship_rule_v38.py) and used unchanged since (v3.9);
dev sets only (ood4_dev, ood_dev, synth9's valid split). Run in the runs folder: the candidate's
reports are reports/{dev4,dev24,ind9v}_CANDIDATE_style (e.g. v39final, as docs/eval-v3/eval_run_dev.sh
names them), v3.6.1's the JSONs stored in docs/eval-v3 (found as cmp.py finds them).
Harmony comes first:
  - the pitch-class agreement with the true bass, averaged over the three sets, up by at least 0.005;
  - the chord-tone rate, averaged, down by no more than 0.005, and on no set down by more than 0.02;
  - a reference's chord cost (chord_tone_rate_grounded - chord_tone_rate), averaged, no more than
    0.01 worse; onsets within 30 ms on every set.
Prints one line per set and SHIP or KEEP with the reasons."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval-v3"))
from cmp import load  # noqa: E402  (docs/eval-v3/cmp.py: a report folder, a JSON or a stored tag)

SETS = {"dev4": "dev4_v36nb_g0.5_style", "dev24": "dev24_v36nb_g0.5_style", "ind9v": "ind9v_v361_style"}


def figures(tag: str) -> dict:
    m = load(tag)["metrics"]
    return {"ctr": m["chord_tone_rate"], "pca": m["pitch_class_agreement"],
            "cost": m["chord_tone_rate_grounded"] - m["chord_tone_rate"], "onset": m["onset_offset_ms"]}


def main(candidate: str = "v38final") -> None:
    new, old = {}, {}
    for short, base in SETS.items():
        new[short] = figures(f"{short}_{candidate}_style")
        old[short] = figures(base)
        print(short, " ".join(f"{k} {old[short][k]:.4f} -> {new[short][k]:.4f}" for k in new[short]))

    def mean(d, k):
        return sum(d[s][k] for s in SETS) / len(SETS)

    reasons = []
    if mean(new, "pca") - mean(old, "pca") < 0.005:
        reasons.append(f"pitch-class agreement {mean(old, 'pca'):.4f} -> {mean(new, 'pca'):.4f}")
    if mean(new, "ctr") - mean(old, "ctr") < -0.005:
        reasons.append(f"chord-tone rate {mean(old, 'ctr'):.4f} -> {mean(new, 'ctr'):.4f}")
    reasons += [f"chord-tone rate on {s} down {old[s]['ctr'] - new[s]['ctr']:.4f}" for s in SETS
                if new[s]["ctr"] - old[s]["ctr"] < -0.02]
    if mean(new, "cost") - mean(old, "cost") < -0.01:
        reasons.append(f"reference's chord cost {mean(old, 'cost'):+.4f} -> {mean(new, 'cost'):+.4f}")
    reasons += [f"onsets {new[s]['onset']:.1f} ms on {s}" for s in SETS if new[s]["onset"] >= 30]
    print(("KEEP v3.6.1: " + "; ".join(reasons)) if reasons else "SHIP the candidate")


if __name__ == "__main__":
    main(*sys.argv[1:])
