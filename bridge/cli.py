"""The ``groundbass`` command line: a click group whose commands are thin layers over
importable functions (groundbass.core and groundbass.bridge modules).

Commands live in their own modules and are registered below.
"""

from __future__ import annotations

import logging

import click

from groundbass.core.checkpoint import groundbass_version


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(groundbass_version(), prog_name="groundbass")
def main() -> None:
    """groundbass: generate a bass stem that fits a music mix."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# --- command registration (one line per command module) ---------------------------------
from .cli_osc import serve as _serve, send as _send; main.add_command(_serve); main.add_command(_send)  # noqa: E402
from .cli_data import data as _data; main.add_command(_data)  # noqa: E402
from .cli_train import train as _train, export as _export; main.add_command(_train); main.add_command(_export)  # noqa: E402
from .cli_generate import generate as _generate, batch as _batch; main.add_command(_generate); main.add_command(_batch)  # noqa: E402
from .cli_eval import eval_autoencoder as _eval_ae, eval_model as _eval; main.add_command(_eval_ae); main.add_command(_eval)  # noqa: E402
