"""Helpers shared by the runtime experiments in this folder (run them as scripts: this folder is
then on the import path)."""
import torch


def cpu_name() -> str:
    """The CPU model as /proc/cpuinfo names it."""
    return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))


class Call(torch.nn.Module):
    """The module's forward with every argument positional, its first output only (what an
    exporter or a compiler is given)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, *args):
        out = self.m(*args)
        return out[0] if isinstance(out, tuple) else out
