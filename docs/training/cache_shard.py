"""python cache_shard.py MANIFEST OUT K N [SEED [FEATURES]] : encode shard K of N of MANIFEST into the latent cache OUT.

Run N of these at once (one torch thread each), then the training command indexes the cache.
SEED (default 0) draws each mix's effects; the recipes use the data set's seed. FEATURES: 26
(feature set 1, the default) or 51 (with madmom's chord features, `train diffusion --chord-features`)."""
import logging
import sys

import torch

from groundbass.bridge.cli_train import _load_autoencoders
from groundbass.core.train.latent_cache import build_latent_cache

logging.basicConfig(level=logging.INFO)
torch.set_num_threads(1)
manifest, out, k, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
n_features = int(sys.argv[6]) if len(sys.argv) > 6 else 26
mix, bass = _load_autoencoders(None, None, "default")
build_latent_cache(manifest, mix, bass, out, mixes_per_song=1, seed=seed, processing="train", features=n_features,
                   shard=(k, n))
