"""The JSON status file that ``groundbass send --status-file`` keeps up to date, for DAW
scripts that cannot open sockets (REAPER's Lua polls it).

The file always holds one complete JSON object (written to a temporary name in the same
folder, then ``os.replace``-d over the old one), with these keys:

``state``       "connecting" | "queued" | "running" | "done" | "error" | "cancelled"
``job``         the job id (string)
``progress``    0..1 (float), ``stage``: the bridge's stage name
``position``    jobs ahead of this one when queued (int or null)
``outputs``, ``midi``, ``seeds``   lists, filled when state is "done"
``error``       one-line message when state is "error" (else null)
``model``, ``device``, ``version``  from the bridge's pong (null until known)
``mix``, ``out`` the absolute paths that were sent
``updated``     Unix time in seconds of this write; ``pid``: the writing process
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from groundbass.core.atomic import write_text_atomic

__all__ = ["STATES", "FINAL_STATES", "StatusFile", "write_json_atomic"]

STATES = ("connecting", "queued", "running", "done", "error", "cancelled")
FINAL_STATES = ("done", "error", "cancelled")


def write_json_atomic(path: str | os.PathLike, data: dict[str, Any], retries: int = 25,
                      wait_s: float = 0.02) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temporary file + ``os.replace``).

    On Windows, replacing a file that another process (the DAW script) has open for reading
    raises PermissionError; the write is retried ``retries`` times, ``wait_s`` apart, before
    the error is passed on.
    """
    text = json.dumps(data, ensure_ascii=True, indent=1) + "\n"
    for attempt in range(retries + 1):
        try:
            write_text_atomic(path, text)
            return
        except PermissionError:
            if attempt == retries:
                raise
            time.sleep(wait_s)


class StatusFile:
    """Holds the current status and rewrites the file on every change.

    Progress-only updates are written at most every ``min_interval_s`` seconds; state
    changes are always written at once. ``path=None`` makes every call a no-op.
    """

    def __init__(self, path: str | os.PathLike | None, *, job: str, mix: str, out: str,
                 min_interval_s: float = 0.2) -> None:
        self.path = Path(path) if path is not None else None
        self.min_interval_s = min_interval_s
        self._last_write = 0.0
        self.data: dict[str, Any] = {
            "state": "connecting", "job": job, "progress": 0.0, "stage": "", "position": None,
            "outputs": [], "midi": [], "seeds": [], "error": None,
            "model": None, "device": None, "version": None, "mix": mix, "out": out,
            "updated": 0.0, "pid": os.getpid(),
        }

    def update(self, **changes: Any) -> None:
        """Apply ``changes`` and write the file (progress-only changes are throttled)."""
        if "state" in changes and changes["state"] not in STATES:
            raise ValueError(f"unknown state {changes['state']!r}")
        state_changed = "state" in changes and changes["state"] != self.data["state"]
        self.data.update(changes)
        now = time.time()
        if self.path is None:
            return
        if state_changed or set(changes) - {"progress", "stage"} or now - self._last_write >= self.min_interval_s:
            self.data["updated"] = now
            write_json_atomic(self.path, self.data)
            self._last_write = now
