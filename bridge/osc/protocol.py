"""The groundbass OSC protocol: addresses, request parsing and validation, reply builders.

Everything here is pure (no sockets, no threads) so it can be tested on its own.
docs/osc-protocol.md is the user-facing description of the same rules.

Conventions (after AbletonOSC): requests are ``/groundbass/<verb>`` or
``/groundbass/get|set/<thing>``; every job reply echoes the job id first, exactly as the
client sent it (an OSC string or int32). Optional arguments are ``key value`` pairs.
Any request may end with ``reply_port <int>`` to have its replies sent to that UDP port
on the sender's host (Max's ``udpreceive`` listens on a fixed port).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from pythonosc.osc_message_builder import OscMessageBuilder

from groundbass.core.params import (  # noqa: F401  (re-exported limits)
    EDIT_METHOD_HELP,
    EDIT_METHOD_NAMES,
    MAX_STEPS,
    MAX_VARIATIONS,
    NUMBERS,
    SAMPLER_HELP,
    SAMPLER_NAMES,
)

PREFIX = "/groundbass"
MAX_DATAGRAM = 8192
"""Largest datagram in bytes the bridge accepts or sends (DESIGN: every datagram under 8 KB)."""

# requests
PING = PREFIX + "/ping"
GENERATE = PREFIX + "/generate"
CANCEL = PREFIX + "/cancel"
STATUS = PREFIX + "/status"
GET_PARAMS = PREFIX + "/get/params"
SET_PARAM = PREFIX + "/set/param"
REQUESTS = (PING, GENERATE, CANCEL, STATUS, GET_PARAMS, SET_PARAM)

# replies
PONG = PREFIX + "/pong"
ACCEPTED = PREFIX + "/accepted"
PROGRESS = PREFIX + "/progress"
OUTPUT = PREFIX + "/output"
DONE = PREFIX + "/done"
ERROR = PREFIX + "/error"
CANCELLED = PREFIX + "/cancelled"
STATUS_REPLY = PREFIX + "/status"
JOB_STATUS_REPLY = PREFIX + "/status/job"
PARAMS = PREFIX + "/params"
PARAM = PREFIX + "/param"

MAX_JOB_ID_CHARS = 64
MAX_PATH_CHARS = 1024

Scalar = int | float | str | bool


class ProtocolError(ValueError):
    """A request that is well-formed OSC but not a valid groundbass request (one-line message)."""


# OSC 1.0 type tags plus the common 1.1 / extended ones python-osc decodes.
SUPPORTED_TYPE_TAGS = frozenset("ifsbhdtTFNIcrm[]")


def unsupported_type_tags(dgram: bytes) -> str:
    """The type tags of one OSC message datagram that python-osc does not decode ("" if none)."""
    end = dgram.find(b"\x00")
    if end < 0:
        return ""
    start = (end + 4) & ~3  # the address is NUL-padded to a multiple of 4 bytes
    if start >= len(dgram) or dgram[start:start + 1] != b",":
        return ""
    stop = dgram.find(b"\x00", start)
    tags = dgram[start + 1:stop if stop >= 0 else len(dgram)].decode("latin-1")
    return "".join(sorted({t for t in tags if t not in SUPPORTED_TYPE_TAGS}))


# ---------------------------------------------------------------- argument coercion

def _as_int(key: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool):
        raise ProtocolError(f"{key} must be an integer, got a boolean")
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        value = int(value)  # Max sends 2.0 for a float box; accept integral floats
    if not isinstance(value, int):
        raise ProtocolError(f"{key} must be an integer, got {_type_name(value)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ProtocolError(f"{key} must be within [{lo}, {hi}], got {value}")
    return value


def _as_spec(key: str, value: Any) -> int | float:
    """A numeric parameter checked against its :data:`groundbass.core.params.NUMBERS` spec."""
    spec = NUMBERS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"{key} must be {'an integer' if spec.kind == 'int' else 'a number'}, "
                            f"got {_type_name(value)}")
    try:
        return spec.check(value)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None


def _numeric(key: str, doc: str | None = None) -> "ParamSpec":
    return ParamSpec(lambda k, v: _as_spec(k, v), doc or NUMBERS[key].help)


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "on", "off", "yes", "no", "1", "0"):
        return value.lower() in ("true", "on", "yes", "1")
    raise ProtocolError(f"{key} must be true/false (T/F, 1/0), got {_short(value)}")


def _as_str(key: str, value: Any, max_chars: int = 256) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{key} must be a string, got {_type_name(value)}")
    if "\x00" in value or len(value) > max_chars:
        raise ProtocolError(f"{key} is not a valid string (NUL byte or over {max_chars} characters)")
    return value


def _as_choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    s = _as_str(key, value, 32)
    if s not in choices:
        raise ProtocolError(f"{key} must be one of {', '.join(choices)}, got {_short(s)}")
    return s


def _as_opt_str(key: str, value: Any, max_chars: int = 256) -> str | None:
    """A string; the empty string means "unset" (None)."""
    s = _as_str(key, value, max_chars)
    return s or None


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            bytes: "a blob", type(None): "nil"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class ParamSpec:
    """How one ``key value`` pair is checked: ``coerce(key, value) -> python value``."""

    coerce: Callable[[str, Any], Any]
    doc: str


# Keys of a generate request that map onto RenderParams fields (same names).
RENDER_KEYS: dict[str, ParamSpec] = {
    "style": ParamSpec(lambda k, v: _as_opt_str(k, v, MAX_PATH_CHARS), "path of a reference bass for grounding ('' = none)"),
    "grounding": _numeric("grounding"),
    "style_cfg": _numeric("style_cfg"),
    "harmony_cfg": _numeric("harmony_cfg"),
    "steps": _numeric("steps"),
    "sampler": ParamSpec(lambda k, v: _as_choice(k, v, SAMPLER_NAMES), SAMPLER_HELP),
    "cfg": _numeric("cfg"),
    "phi": _numeric("phi"),
    "seed": _numeric("seed", "random seed (-1 or absent: random); variation i uses seed + i"),
    "variations": _numeric("variations"),
    "fx": ParamSpec(lambda k, v: _as_str(k, v, 64), "post-processing preset name"),
    "loudness": _numeric("loudness"),
    "match_mix": ParamSpec(_as_bool, "match the bass loudness to the mix"),
    "format": ParamSpec(lambda k, v: _as_opt_str(k, v, 16), "output file format (wav, flac, ...)"),
    "bit_depth": ParamSpec(lambda k, v: _as_opt_str(k, str(v) if isinstance(v, int) and not isinstance(v, bool) else v, 16),
                           "output sample format: 16, 24 or 32f"),
    "sample_rate": _numeric("sample_rate"),
    "midi": ParamSpec(_as_bool, "also write a transcribed MIDI file"),
    "tempo": _numeric("tempo"),
    "quantize": ParamSpec(lambda k, v: _as_opt_str(k, v, 16), "MIDI quantisation grid (e.g. 1/16)"),
    "time_signature": ParamSpec(lambda k, v: _as_opt_str(k, v, 16), "N/D for the MIDI file and bar positions (default 4/4)"),
    "keep": ParamSpec(lambda k, v: _as_opt_str(k, v, MAX_PATH_CHARS), "path of an existing bass to edit ('' = none)"),
    "region": ParamSpec(lambda k, v: _as_opt_str(k, v, 64), "START:END to regenerate (seconds; bars with tempo)"),
    "continue": ParamSpec(_as_bool, "continue the keep bass to the end of the mix"),
    "loop": ParamSpec(_as_bool, "make a seamless loop of the whole input"),
    "crossfade": _numeric("crossfade"),
    "edit_method": ParamSpec(lambda k, v: _as_choice(k, v, EDIT_METHOD_NAMES), EDIT_METHOD_HELP),
    "transition_to": ParamSpec(lambda k, v: _as_opt_str(k, v, MAX_PATH_CHARS),
                               "path of a reference bass to move to over span ('' = none: a new generation)"),
    "span": ParamSpec(lambda k, v: _as_opt_str(k, v, 64), "START:END of a transition (seconds; bars with tempo)"),
}

# Keys whose value is a file the bridge reads (checked against the allowed folders, made absolute by send).
PATH_KEYS = ("style", "keep", "transition_to")

# OSC keys whose RenderParams field is spelled differently (a Python keyword).
FIELD_NAMES = {"continue": "continue_"}

# Keys that control the request, not the rendering.
CONTROL_KEYS: dict[str, ParamSpec] = {
    "reply_port": ParamSpec(lambda k, v: _as_int(k, v, 1, 65535), "UDP port on the sender's host for the replies"),
    "overwrite": ParamSpec(_as_bool, "replace an existing output file"),
}


def coerce_param(key: Any, value: Any) -> tuple[str, Any]:
    """Check one ``key value`` pair of a generate or set/param request -> (key, python value).

    ``seed -1`` means "random" and becomes None. Raises ProtocolError.
    """
    if not isinstance(key, str):
        raise ProtocolError(f"parameter names must be strings, got {_type_name(key)}")
    if key == "seed" and isinstance(value, (int, float)) and not isinstance(value, bool) and value == -1:
        return key, None
    spec = RENDER_KEYS.get(key) or CONTROL_KEYS.get(key)
    if spec is None:
        raise ProtocolError(f"unknown parameter {_short(key)}")
    return key, spec.coerce(key, value)


def parse_pairs(args: list[Any]) -> dict[str, Any]:
    """``[k1, v1, k2, v2, ...]`` -> {key: checked value}. Raises ProtocolError."""
    if len(args) % 2:
        raise ProtocolError("optional arguments must come in key value pairs")
    out: dict[str, Any] = {}
    for i in range(0, len(args), 2):
        key, value = coerce_param(args[i], args[i + 1])
        out[key] = value
    return out


# ---------------------------------------------------------------- requests

JobId = int | str


def check_job_id(value: Any) -> JobId:
    """A job id is a non-empty string (at most 64 characters) or an int32."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ProtocolError(f"job id must be a string or an integer, got {_type_name(value)}")
    if isinstance(value, str) and (not value or len(value) > MAX_JOB_ID_CHARS or "\x00" in value):
        raise ProtocolError(f"job id must be 1-{MAX_JOB_ID_CHARS} characters")
    return value


@dataclass
class GenerateRequest:
    """A parsed ``/groundbass/generate`` request; paths are not yet checked against the roots."""

    job_id: JobId
    mix_path: str
    out_path: str
    params: dict[str, Any] = field(default_factory=dict)
    reply_port: int | None = None
    overwrite: bool = False


def parse_generate(args: list[Any]) -> GenerateRequest:
    """``<job_id> <mix_path> <out_path> [key value ...]`` -> GenerateRequest. Raises ProtocolError."""
    if len(args) < 3:
        raise ProtocolError("generate needs <job_id> <mix_path> <out_path> [key value ...]")
    job_id = check_job_id(args[0])
    mix = _as_str("mix_path", args[1], MAX_PATH_CHARS)
    out = _as_str("out_path", args[2], MAX_PATH_CHARS)
    if not mix or not out:
        raise ProtocolError("mix_path and out_path must not be empty")
    params = parse_pairs(list(args[3:]))
    reply_port = params.pop("reply_port", None)
    overwrite = params.pop("overwrite", False)
    return GenerateRequest(job_id, mix, out, params, reply_port, overwrite)


def split_reply_port(args: list[Any]) -> tuple[list[Any], int | None]:
    """Strip a trailing ``reply_port <int>`` pair from a control request's arguments."""
    if len(args) >= 2 and args[-2] == "reply_port":
        return list(args[:-2]), CONTROL_KEYS["reply_port"].coerce("reply_port", args[-1])
    return list(args), None


def job_id_for_errors(address: str, args: list[Any]) -> JobId:
    """What an error reply echoes first: the job id for job requests when it parses,
    else the request's address (so a client can tell which request failed)."""
    if address in (GENERATE, CANCEL) and args:
        try:
            return check_job_id(args[0])
        except ProtocolError:
            pass
    return address if address.startswith(PREFIX) and len(address) <= 64 else ""


# ---------------------------------------------------------------- replies

def build(address: str, *args: Scalar) -> bytes:
    """Encode one OSC message; strings longer than the datagram budget are truncated.

    Types: bool -> T/F, int -> i (int32) or h (int64), float -> f, str -> s.
    """
    b = OscMessageBuilder(address=address)
    for a in args:
        if isinstance(a, bool):
            b.add_arg(a)
        elif isinstance(a, int):
            b.add_arg(a, "i" if -2**31 <= a < 2**31 else "h")
        elif isinstance(a, float):
            b.add_arg(a, "f")
        else:
            b.add_arg(str(a)[:MAX_PATH_CHARS * 2], "s")
    dgram = b.build().dgram
    if len(dgram) > MAX_DATAGRAM:  # cannot happen with our reply shapes; never send oversized
        return build(ERROR, "", "reply too large")
    return dgram


def pong(version: str, model: str, device: str) -> bytes:
    return build(PONG, version, model, device)


def accepted(job_id: JobId, position: int) -> bytes:
    """``position``: jobs ahead of this one (0 = runs next or now)."""
    return build(ACCEPTED, job_id, position)


def progress(job_id: JobId, fraction: float, stage: str) -> bytes:
    return build(PROGRESS, job_id, float(min(1.0, max(0.0, fraction))), stage)


def output(job_id: JobId, index: int, audio_path: str, midi_path: str, seed: int) -> bytes:
    return build(OUTPUT, job_id, index, audio_path, midi_path, seed)


def done(job_id: JobId, out_path: str, midi_path: str | None = None) -> bytes:
    return build(DONE, job_id, out_path, *([midi_path] if midi_path else []))


def error(job_id: JobId, message: str) -> bytes:
    return build(ERROR, job_id, one_line(message))


def cancelled(job_id: JobId) -> bytes:
    return build(CANCELLED, job_id)


def one_line(message: str, limit: int = 300) -> str:
    """First line of ``message``, at most ``limit`` characters."""
    text = " ".join(str(message).split()) or "error"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def params_reply(params: dict[str, Any]) -> bytes:
    """``/groundbass/params key value ...`` for every default that is set (None values omitted)."""
    flat: list[Scalar] = []
    for k, v in sorted(params.items()):
        if v is not None:
            flat += [k, v]
    return build(PARAMS, *flat)
