"""Stem datasets, manifests and the synthetic multitrack generator."""
