"""python cache_shard.py MANIFEST OUT K N [SEED] : encode shard K of N of MANIFEST into the latent cache OUT.

Run N of these at once (one torch thread each), then the training command indexes the cache.
SEED (default 0) draws each mix's effects; the recipes use the data set's seed."""
import logging
import sys

import torch

from groundbass.bridge.cli_train import _load_autoencoders
from groundbass.core.train.latent_cache import build_latent_cache

logging.basicConfig(level=logging.INFO)
torch.set_num_threads(1)
manifest, out, k, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
mix, bass = _load_autoencoders(None, None, "default")
build_latent_cache(manifest, mix, bass, out, mixes_per_song=1, seed=seed, processing="train", features=True,
                   shard=(k, n))
