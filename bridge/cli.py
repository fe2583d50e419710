"""The ``groundbass`` command line: a click group whose commands are thin layers over
importable functions (groundbass.core and groundbass.bridge modules).

Each command lives in a module of its own (``cli_*.py``) and is registered here.
"""

from __future__ import annotations

import logging
from importlib import import_module

import click

from groundbass.core.version import groundbass_version

# name -> (module, attribute, one-line help). Commands are imported when they run, so
# `groundbass --help` and `groundbass send` start without loading torch.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "generate": ("cli_generate", "generate", "Generate a bass stem for one MIX file."),
    "batch": ("cli_generate", "batch", "Generate a bass stem for every audio file in a folder."),
    "serve": ("cli_osc", "serve", "Start the OSC bridge for DAW scripts."),
    "send": ("cli_osc", "send", "Send MIX to a running bridge and wait for the bass."),
    "data": ("cli_data", "data", "Datasets: index stems into a manifest, synthesize songs."),
    "train": ("cli_train", "train", "Train the autoencoders and the diffusion model."),
    "export": ("cli_train", "export", "Combine trained parts into one model file."),
    "eval": ("cli_eval", "eval_model", "Measure a model on held-out songs (metrics.json + report.png)."),
    "eval-autoencoder": ("cli_eval", "eval_autoencoder", "Measure an autoencoder's reconstructions."),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(import_module(f".{module}", __package__), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, _, text) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(groundbass_version(), prog_name="groundbass")
def main() -> None:
    """groundbass: generate a bass stem that fits a music mix."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
