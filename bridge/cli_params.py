"""click option types built from the one parameter spec (:mod:`groundbass.core.params`), shared
by ``generate``, ``batch`` and ``send``. Light: importing it does not load torch."""

from __future__ import annotations

import click

from groundbass.core.params import EDIT_METHOD_HELP, EDIT_METHOD_NAMES, NUMBERS, SAMPLER_HELP, SAMPLER_NAMES

__all__ = ["SpecNumber", "number_option", "sampler_option", "edit_method_option"]


class SpecNumber(click.ParamType):
    """A click type for a numeric parameter of :data:`groundbass.core.params.NUMBERS`: the same
    range and finiteness check as the OSC bridge and the render checks. ``random_minus_one``
    lets -1 mean "unset" (a random seed), as in the OSC protocol."""

    def __init__(self, name: str, random_minus_one: bool = False) -> None:
        self.spec = NUMBERS[name]
        self.name = f"{self.spec.kind.upper()} {self.spec.range_text}"
        self.random_minus_one = random_minus_one

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = float(value) if self.spec.kind == "float" else int(value, 10)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not {'a number' if self.spec.kind == 'float' else 'a whole number'}",
                          param, ctx)
        if number is None or (self.random_minus_one and number == -1):
            return None
        try:
            return self.spec.check(number)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def number_option(flag: str, name: str, extra_help: str = "", **kw):
    spec = NUMBERS[name]
    return click.option(flag, name, type=SpecNumber(name, random_minus_one=name == "seed"),
                        help=f"{spec.help[0].upper()}{spec.help[1:]} ({spec.range_text}){extra_help}.", **kw)


def sampler_option():
    return click.option("--sampler", type=click.Choice(SAMPLER_NAMES), help=SAMPLER_HELP[0].upper() + SAMPLER_HELP[1:] + ".")


def edit_method_option(**kw):
    return click.option("--edit-method", type=click.Choice(EDIT_METHOD_NAMES),
                        help=EDIT_METHOD_HELP[0].upper() + EDIT_METHOD_HELP[1:] + ".", **kw)
