"""The README's tour and the quickstart example run as written."""

import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_tour_runs():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_quickstart_example_learns_the_line(capsys):
    runpy.run_path(str(ROOT / "examples" / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "d/dx (x^2 + 3x + 1) at x=2: 7.0" in out
    w, b = re.search(r"learned w=(-?[\d.]+) b=(-?[\d.]+)", out).groups()
    assert abs(float(w) - 3) < 0.05 and abs(float(b) + 1) < 0.05
