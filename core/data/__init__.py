"""Stem datasets, manifests and the synthetic multitrack generator.

- :mod:`.manifest`: :class:`Song`, :func:`read_manifest`, :func:`write_manifest` (JSONL).
- :mod:`.index`: indexers for MUSDB18-HQ, Slakh2100, MoisesDB and plain stem folders.
- :mod:`.synth`: :func:`synthesize` songs with MMA + FluidSynth (recipe v4 also with
  :mod:`.subsynth`, a subtractive synth, and :mod:`.drumkits`, recorded Hydrogen kits).
- :mod:`.pairs`: :class:`StemCrops` training crops and :func:`choose_subset`.
"""

from .index import FORMATS, IndexResult, index_dataset, index_moisesdb, index_musdb, index_slakh, index_stems
from .manifest import ManifestError, Song, read_manifest, write_manifest
from .pairs import StemCrops, choose_subset
from .probe import Problem
from .synth import SynthResult, synthesize

__all__ = [
    "FORMATS", "IndexResult", "ManifestError", "Problem", "Song", "StemCrops", "SynthResult", "choose_subset",
    "index_dataset", "index_moisesdb", "index_musdb", "index_slakh", "index_stems", "read_manifest",
    "synthesize", "write_manifest",
]
