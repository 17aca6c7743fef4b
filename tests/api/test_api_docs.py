"""The worked example of docs/api.md runs as written, as a script in a folder of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_worked_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks, "docs/api.md has no python example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0], encoding="utf-8")
    env = dict(os.environ, AVS_ANNOTATOR_CONFIG_DIR=str(tmp_path / "config"),
               AVS_ANNOTATOR_MODELS_DIR=str(tmp_path / "models"),
               AVS_ANNOTATOR_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=os.pathsep.join([str(DOC.parents[1]), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(r"frame 10: \d+ pixels, candidate \d of 3", out)
    assert "propagated: [('done', 55)]" in out
    assert re.search(r"re-propagated [1-9]\d* masks from frame 40", out)
    assert "wrote " in out and "demo.json" in out and (tmp_path / "demo.json").is_file()
    assert (tmp_path / "demo.avsproj" / "project.avs").is_file()
