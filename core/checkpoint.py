"""safetensors checkpoints with the typed config in their metadata; the bundled-model registry.

A checkpoint is one ``.safetensors`` file. Its metadata holds ``format = groundbass``,
the checkpoint ``kind`` (``autoencoder``, ``diffusion``, ``generator`` or a training
state), the config dataclass as JSON, the groundbass version and a model id; latent
statistics are stored as tensors. A file alone rebuilds its model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .atomic import atomic_path
from .config import config_to_dict
from .version import groundbass_version

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "resolve_model", "BUNDLED_MODELS",
           "groundbass_version", "CheckpointError"]

FORMAT = "groundbass"
FORMAT_VERSION = "1"
_MODELS_DIR = Path(__file__).resolve().parent / "models"
BUNDLED_MODELS: dict[str, Path] = {"default": _MODELS_DIR / "default.safetensors"}


class CheckpointError(ValueError):
    """A file that is not a readable groundbass checkpoint (message names the file)."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: tensors, kind, config dict and the rest of the metadata."""

    tensors: dict[str, torch.Tensor]
    kind: str
    config: dict
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def sub(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors whose name starts with ``prefix + '.'``, with the prefix removed."""
        p = prefix + "."
        return {k[len(p):]: v for k, v in self.tensors.items() if k.startswith(p)}


def save_checkpoint(path: str | os.PathLike, tensors: dict[str, torch.Tensor], *, kind: str, config: Any,
                    extra: dict | None = None, dtype: torch.dtype | None = None) -> Path:
    """Write ``tensors`` + metadata to ``path`` atomically (temporary name, then rename).

    ``config`` is a config dataclass (or a plain dict); ``extra`` is any JSON-safe dict
    stored under ``extra``; floating tensors are cast to ``dtype`` when given (e.g. fp16
    for shipping). Returns the path written.
    """
    path = Path(path)
    cfg = config if isinstance(config, dict) else config_to_dict(config)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": json.dumps(cfg, sort_keys=True),
        "groundbass_version": groundbass_version(),
        "extra": json.dumps(extra or {}, sort_keys=True),
    }
    out = {}
    for name, t in tensors.items():
        t = t.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        out[name] = t.contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(out, str(tmp), metadata=meta)
    return path


def load_checkpoint(path: str | os.PathLike, *, kind: str | tuple[str, ...] | None = None) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`; floating tensors come back as float32.

    Raises :class:`CheckpointError` naming the file if it is missing, unreadable, not a
    groundbass checkpoint, or not of the expected ``kind``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a groundbass checkpoint (no groundbass metadata)")
    if kind is not None:
        kinds = (kind,) if isinstance(kind, str) else kind
        if meta.get("kind") not in kinds:
            raise CheckpointError(f"{path}: is a {meta.get('kind')!r} checkpoint, expected {' or '.join(kinds)}")
    tensors = {k: (v.float() if v.is_floating_point() else v) for k, v in tensors.items()}
    config = json.loads(meta.pop("config", "{}"))
    meta["extra"] = json.loads(meta.get("extra", "{}"))
    return Checkpoint(tensors=tensors, kind=meta.get("kind", ""), config=config, meta=meta, path=path)


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """Path of a bundled model name (``"default"``) or of a user's checkpoint file.

    Raises :class:`CheckpointError` if a bundled name is not shipped in this build or a
    path does not exist.
    """
    key = str(name_or_path)
    if key in BUNDLED_MODELS:
        path = BUNDLED_MODELS[key]
        if not path.is_file():
            raise CheckpointError(
                f"{path}: the bundled {key!r} model is not installed in this build "
                "(pass a checkpoint path, or use BassGenerator.from_preset for an untrained model)"
            )
        return path
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file")
    return path
