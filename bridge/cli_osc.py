"""``groundbass serve`` (the OSC bridge) and ``groundbass send`` (a small OSC client for
scripts). The click layer only parses options and prints; the work is in
groundbass.bridge.osc.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

import click

from .cli_output import echo
from .cli_params import edit_method_option, number_option, sampler_option
from .paths import path_problem, resolved_or_absolute

__all__ = ["serve", "send", "read_args_file", "expand_args_file"]


def _fail(message: str, code: int = 1) -> None:
    echo(f"error: {message}", err=True)
    sys.exit(code)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=9030, show_default=True, type=click.IntRange(0, 65535), help="UDP port.")
@click.option("--model", default="default", show_default=True, help="Bundled model name or checkpoint path.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--allow-root", "allow_roots", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Folder the bridge may read and write under (repeatable; default: temp dir and home).")
@click.option("-v", "--verbose", is_flag=True, help="Log every request.")
def serve(host: str, port: int, model: str, device: str, allow_roots: tuple[str, ...], verbose: bool) -> None:
    """Start the OSC bridge for DAW scripts (loads the model once, keeps it warm)."""
    from groundbass.core import BassGenerator

    from .osc.server import BridgeServer

    logging.getLogger("groundbass.bridge.osc").setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        gen = BassGenerator.from_pretrained(model, device=device)
    except (ValueError, OSError) as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    try:
        server = BridgeServer(gen, host=host, port=port, roots=[Path(r) for r in allow_roots] or None)
    except (OSError, ValueError) as exc:
        _fail(f"cannot listen on {host}:{port}: {exc}")
    h, p = server.address
    click.echo(f"groundbass bridge on {h}:{p} - model {gen.model_id} on {gen.device}; "
               f"allowed folders: {', '.join(str(r) for r in server.policy.roots)}", err=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        click.echo("groundbass bridge stopped", err=True)


ARGS_FILE = "--args-file"


def read_args_file(path: str) -> list[str]:
    """The arguments stored in an args file: a JSON array of strings in UTF-8 (bytes that are not
    UTF-8 come back as they would on a POSIX command line). Raises click.UsageError."""
    try:
        text = Path(path).read_bytes().decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise click.UsageError(f"{ARGS_FILE} {path}: {exc.strerror or exc}") from None
    try:
        args = json.loads(text)
    except ValueError as exc:
        raise click.UsageError(f"{ARGS_FILE} {path}: not JSON ({exc})") from None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise click.UsageError(f"{ARGS_FILE} {path}: must hold a JSON array of strings")
    return args


def expand_args_file(args: list[str]) -> list[str]:
    """``args`` with the first ``--args-file FILE`` (or ``--args-file=FILE``) replaced, in place,
    by the arguments in FILE; unchanged when there is none (or only after ``--``)."""
    for i, a in enumerate(args):
        if a == "--":
            break
        if a == ARGS_FILE and i + 1 < len(args):
            return args[:i] + read_args_file(args[i + 1]) + args[i + 2:]
        if a.startswith(ARGS_FILE + "="):
            return args[:i] + read_args_file(a.split("=", 1)[1]) + args[i + 1:]
    return args


def _args_file_given_twice(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:  # the first one was expanded before parsing: this is a second one
        raise click.BadParameter("give it once, on the command line (not inside an args file)")


class _SendCommand(click.Command):
    """``send`` whose arguments may come from ``--args-file`` (for callers without a shell,
    such as REAPER's ExecProcess), and whose usage errors (a bad option value) also land in
    the ``--status-file`` when one was named, so a DAW script polling that file reports the
    error at once instead of waiting for a status that never comes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = expand_args_file(list(args))
        given = list(args)  # click's parser consumes the list it is given
        try:
            rest = super().parse_args(ctx, args)
            if ctx.params.get("cancel_job") is not None:
                if ctx.params.get("mix") is not None:
                    raise click.UsageError("--cancel takes no MIX or OUT", ctx)
            else:
                for param in self.params:
                    if param.name in ("mix", "out") and ctx.params.get(param.name) is None:
                        raise click.MissingParameter(ctx=ctx, param=param)
            return rest
        except click.UsageError as exc:
            args = given
            path = next((a.split("=", 1)[1] for a in args if a.startswith("--status-file=")), None)
            if path is None and "--status-file" in args[:-1]:
                path = args[args.index("--status-file") + 1]
            if path:
                try:
                    from .osc.status_file import write_json_atomic

                    write_json_atomic(path, {"state": "error", "job": None, "progress": 0.0, "stage": "",
                                             "error": f"groundbass send: {exc.format_message()}",
                                             "outputs": [], "midi": [], "seeds": [], "pid": os.getpid()})
                except OSError:
                    pass
            raise


def _cancel(job: str, host: str, port: int, timeout_s: float) -> None:
    """Send /groundbass/cancel for ``job`` and wait for /groundbass/cancelled (exit 1 if refused)."""
    from .osc import protocol as P
    from .osc.client import BridgeClient, BridgeUnavailable

    try:
        with BridgeClient(host, port) as client:
            client.request(P.CANCEL, job, expect=(P.CANCELLED,), timeout=timeout_s)
    except BridgeUnavailable:
        _fail(f"no groundbass bridge confirmed the cancel on {host}:{port} within {timeout_s:g} s")
    except RuntimeError as exc:  # the bridge's error reply, e.g. no such job
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{host}:{port}: {exc.strerror or exc}")
    click.echo(f"job {job} cancelled", err=True)


# Paths are click.Path(readable=False): click's readability check would turn a file this user
# may not read into a multi-line usage error (exit 2); the bridge reads the files (as its own
# user) and reports a problem in one line, and the status file is checked below.
@click.command("send", cls=_SendCommand)
@click.argument("mix", type=click.Path(dir_okay=False, readable=False), required=False, metavar="MIX")
@click.argument("out", type=click.Path(dir_okay=False, readable=False), required=False, metavar="OUT")
@click.option("--style", type=click.Path(dir_okay=False, readable=False),
              help="Reference bass: the bass takes on its timbre.")
@number_option("--grounding", "grounding")
@number_option("--style-cfg", "style_cfg")
@number_option("--harmony-cfg", "harmony_cfg")
@number_option("--steps", "steps")
@sampler_option()
@number_option("--cfg", "cfg")
@number_option("--phi", "phi")
@number_option("--seed", "seed", "; -1 = random")
@number_option("--variations", "variations")
@click.option("--fx", help="Post-processing preset.")
@number_option("--loudness", "loudness")
@click.option("--match-mix/--no-match-mix", default=None, help="Match the bass loudness to the mix.")
@click.option("--format", "fmt", help="Output file format.")
@click.option("--bit-depth", help="Output sample format.")
@number_option("--sample-rate", "sample_rate")
@click.option("--midi/--no-midi", default=None, help="Also write a MIDI transcription.")
@number_option("--tempo", "tempo")
@click.option("--quantize", help="MIDI quantisation grid, e.g. 1/16.")
@click.option("--time-signature", help="N/D for the MIDI file and bar positions with --tempo (default 4/4).")
@click.option("--keep", type=click.Path(dir_okay=False, readable=False),
              help="An existing bass to edit (with --region or --continue).")
@click.option("--region", help="START:END of --keep to regenerate (seconds; bars BAR[.BEAT] with --tempo).")
@click.option("--continue", "continue_", is_flag=True, default=None, help="Continue --keep to the end of the mix.")
@click.option("--loop", is_flag=True, default=None, help="Make a seamless loop of the whole mix.")
@number_option("--crossfade", "crossfade")
@edit_method_option()
@click.option("--transition-to", type=click.Path(dir_okay=False, readable=False),
              help="A reference bass whose sound the bass moves to over --span (from --keep or --style).")
@click.option("--span", help="START:END of a transition (seconds; bars BAR[.BEAT] with --tempo).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Bridge host.")
@click.option("--port", default=9030, show_default=True, type=click.IntRange(1, 65535), help="Bridge UDP port.")
@click.option("--job-id", help="Job id (default: a random one).")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait for the result (--no-wait returns once the job is accepted).")
@click.option("--status-file", type=click.Path(dir_okay=False, readable=False),
              help="Keep a JSON status file up to date.")
@click.option("--timeout", type=float, help="Give up and cancel after this many seconds.")
@click.option("--connect-timeout", type=click.FloatRange(0.1, 600), default=3.0, show_default=True,
              help="Seconds to wait for the bridge's first answer (longer while one is starting).")
@click.option("--cancel", "cancel_job", metavar="JOB",
              help="Cancel job JOB on the bridge instead (no MIX or OUT); waits for the confirmation.")
@click.option(ARGS_FILE, metavar="FILE", expose_value=False, callback=_args_file_given_twice,
              help="Read the arguments from FILE, a JSON array of strings, parsed exactly like "
                   "command-line arguments (for callers without a shell, e.g. REAPER).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the output paths.")
def send(mix: str, out: str, style, grounding, style_cfg, harmony_cfg, steps, sampler, cfg, phi, seed, variations, fx,
         loudness, match_mix, fmt,
         bit_depth, sample_rate, midi, tempo, quantize, time_signature, keep, region, continue_, loop, crossfade, edit_method, transition_to, span, overwrite, host, port, job_id, wait,
         status_file, timeout, connect_timeout, cancel_job, quiet) -> None:
    """Send MIX to a running bridge and wait for the bass at OUT (exit 0 on success).
    With --cancel JOB, cancel that job instead."""
    from .osc.client import send_job

    if cancel_job is not None:
        _cancel(cancel_job, host, port, timeout or 10.0)
        return

    if status_file is not None:
        try:
            folder = Path(status_file).resolve().parent
            if not folder.is_dir():
                _fail(f"{status_file}: the status file's folder does not exist")
            if not os.access(folder, os.W_OK):
                _fail(f"{status_file}: the status file's folder is not writable")
            if Path(status_file).is_dir():
                _fail(f"{status_file}: is a folder, not a status file")
        except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
            _fail(f"{status_file}: cannot use the status file ({path_problem(exc)})")
    params = {"style": style, "grounding": grounding, "style_cfg": style_cfg, "harmony_cfg": harmony_cfg,
              "steps": steps, "sampler": sampler, "cfg": cfg, "phi": phi, "seed": seed,
              "variations": variations, "fx": fx, "loudness": loudness, "match_mix": match_mix, "format": fmt,
              "bit_depth": bit_depth, "sample_rate": sample_rate, "midi": midi, "tempo": tempo,
              "quantize": quantize, "time_signature": time_signature, "keep": str(resolved_or_absolute(keep)) if keep else None, "region": region,
              "continue": continue_ or None, "loop": loop or None, "crossfade": crossfade,
              "edit_method": edit_method,
              "transition_to": str(resolved_or_absolute(transition_to)) if transition_to else None, "span": span,
              "overwrite": overwrite or None}
    last = {"stage": None, "pct": -1}

    def show(kind: str, info: dict) -> None:
        if quiet:
            return
        if kind == "accepted":
            click.echo(f"job {info['job']} accepted ({info['position']} ahead)", err=True)
        elif kind == "progress":
            pct = int(info["progress"] * 100)
            if info["stage"] != last["stage"] or pct >= last["pct"] + 10:
                last.update(stage=info["stage"], pct=pct)
                click.echo(f"  {pct:3d}% {info['stage']}", err=True)

    try:
        outcome = send_job(mix, out, params, host=host, port=port, job_id=job_id, wait=wait,
                           status_path=status_file, timeout_s=timeout, connect_s=connect_timeout,
                           on_event=show)
    except OSError as exc:  # e.g. the status file's folder vanished or became read-only mid-job
        where = getattr(exc, "filename", None) or status_file or f"{host}:{port}"
        _fail(f"{where}: {exc.strerror or exc}")
    if outcome.state == "error":
        _fail(outcome.error or "failed")
    if outcome.state == "cancelled":
        _fail("cancelled", code=2)
    if outcome.state == "accepted":
        echo(outcome.job)
        return
    for path in outcome.outputs + outcome.midi:
        echo(path)
