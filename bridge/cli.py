"""The ``groundbass`` command line: a click group whose commands are thin layers over
importable functions (groundbass.core and groundbass.bridge modules).

Each command lives in a module of its own (``cli_*.py``) and is registered here.
"""

from __future__ import annotations

import logging

import click

from groundbass.core.checkpoint import groundbass_version

from .cli_data import data
from .cli_eval import eval_autoencoder, eval_model
from .cli_generate import batch, generate
from .cli_osc import send, serve
from .cli_train import export, train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(groundbass_version(), prog_name="groundbass")
def main() -> None:
    """groundbass: generate a bass stem that fits a music mix."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


for _command in (generate, batch, serve, send, data, train, export, eval_model, eval_autoencoder):
    main.add_command(_command)
