"""python merge_caches.py OUT_MANIFEST OUT_CACHE MANIFEST:CACHE:PREFIX [MANIFEST:CACHE:PREFIX ...]

Join several data sets and their latent caches into one, so one training run draws from all of
them (replay of older songs beside new ones). Song names get PREFIX (names repeat across data
sets); the cached songs are linked, not copied; the merged manifest stores paths relative to its
own folder. The caches must come from the same autoencoders, processing and features. Then
``groundbass train diffusion --data OUT_MANIFEST --cache OUT_CACHE ...`` indexes the merged cache
and computes its latent statistics over all the training songs.
"""
import dataclasses
import json
import os
import sys
from pathlib import Path

from groundbass.core.data.manifest import read_manifest, write_manifest
from groundbass.core.train.latent_cache import cache_file_name


def main(out_manifest: str, out_cache: str, parts: list[str]) -> None:
    out = Path(out_cache)
    (out / "songs").mkdir(parents=True, exist_ok=True)
    songs, info = [], None
    for part in parts:
        manifest, cache, prefix = part.split(":")
        this = json.loads((Path(cache) / "cache.json").read_text())
        keys = ("mix_ae", "bass_ae", "processing", "feature_dim", "mixes_per_song", "mix_rms_db")
        if info is not None and any(info[k] != this[k] for k in keys):
            sys.exit(f"{cache}: made with other autoencoders, processing or features than {parts[0]}")
        info = info or dict(this, manifest=str(Path(out_manifest).resolve()), merged=parts)
        for song in read_manifest(manifest):
            src = Path(cache).resolve() / "songs" / cache_file_name(song.song)
            if not src.is_file():
                continue            # skipped when the cache was built: skip it here too
            renamed = dataclasses.replace(song, song=f"{prefix}{song.song}")
            link = out / "songs" / cache_file_name(renamed.song)
            if not link.exists():
                os.symlink(src, link)
            songs.append(renamed)
    (out / "cache.json").write_text(json.dumps(info, indent=1))
    write_manifest(out_manifest, songs)
    print(f"{out_manifest}: {len(songs)} songs from {len(parts)} data sets")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
