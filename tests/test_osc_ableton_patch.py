"""The bundled Max patch is valid JSON whose OSC boxes match the protocol."""

from __future__ import annotations

import json
from pathlib import Path

PATCH = Path(__file__).resolve().parents[1] / "ableton" / "groundbass.maxpat"


def test_maxpat_is_plain_json_and_wired_to_the_bridge():
    patcher = json.loads(PATCH.read_text())["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    texts = [b.get("text", "") for b in boxes.values()]
    assert "udpsend 127.0.0.1 9030" in texts and "udpreceive 9031" in texts
    assert any(t.startswith("prepend /groundbass/generate ") for t in texts)
    assert any("reply_port 9031" in t for t in texts if t.startswith("append"))
    for line in patcher["lines"]:
        src, dst = line["patchline"]["source"], line["patchline"]["destination"]
        assert src[0] in boxes and dst[0] in boxes
        assert src[1] < boxes[src[0]]["numoutlets"] and dst[1] < boxes[dst[0]]["numinlets"]
