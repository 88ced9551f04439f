"""The pandas examples of README.md (## Results) and results/README.md (## In Python) run as
written and give strings: `df[df.cell == "gru"]` selects the GRU's runs.

Each Python block is taken from the Markdown as it stands and run, unchanged, by /usr/bin/python3
in a folder laid out like the repository's root (scripts/ linked, results/quickstart.h5 a small
synthetic results file of test_compare.write_results); a few lines appended after it check what
it left in `df`.

Run: /usr/bin/python3 -m pytest -q tests/test_readme_pandas.py
"""
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_compare import PYTHON, ROOT, SCRIPTS, make_run, write_results  # noqa: E402

CHECK = """
assert isinstance(df.cell.iloc[0], str), type(df.cell.iloc[0])
gru_rows = df[df.cell == "gru"]
assert len(gru_rows) == 4, len(gru_rows)
assert set(gru_rows.delay) == {10, 50}
print("CHECKED", len(gru_rows))
"""


def python_blocks(markdown, section):
    """Return the ```python blocks of `section` (from its ## heading to the next ## heading)."""
    found = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert found, f"no section '## {section}'"
    return re.findall(r"^```python\n(.*?)^```", found.group(1), re.M | re.S)


@pytest.fixture(scope="module")
def repository_like(tmp_path_factory):
    """A folder with scripts/ (the real one) and results/quickstart.h5 (synthetic)."""
    root = tmp_path_factory.mktemp("root")
    os.symlink(SCRIPTS, root / "scripts")
    (root / "results").mkdir()
    runs = [make_run("adding", delay, cell, s) for delay in (10, 50)
            for cell in ("lstm-peep", "gru") for s in range(2)]
    write_results(str(root / "results" / "quickstart.h5"), runs)
    return root


def run_block(code, cwd):
    return subprocess.run([PYTHON, "-c", code + CHECK], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("markdown, section, n_blocks", [
    ("README.md", "Results", 2),
    (os.path.join("results", "README.md"), "In Python", 2),
])
def test_pandas_examples_give_strings(repository_like, markdown, section, n_blocks):
    with open(os.path.join(ROOT, markdown), encoding="utf-8") as f:
        blocks = python_blocks(f.read(), section)
    assert len(blocks) == n_blocks, blocks
    assert "rnnbench_results" in blocks[0]  # the reader first, raw h5py second
    assert ".str.decode" in blocks[1] and "h5py" in blocks[1]
    for code in blocks:
        done = run_block(code, repository_like)
        assert done.returncode == 0, f"{markdown}:\n{code}\n{done.stderr}"
        assert "CHECKED 4" in done.stdout, done.stdout


def test_the_undecoded_h5py_frame_would_have_found_nothing(repository_like):
    """Why the examples decode: without it the filter by name silently selects no row."""
    code = ("import h5py, pandas as pd\n"
            "df = pd.DataFrame(h5py.File('results/quickstart.h5')['summary'][:])\n"
            "print(len(df[df.cell == 'gru']), len(df[df.cell == b'gru']))\n")
    done = subprocess.run([PYTHON, "-c", code], cwd=repository_like, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "4"]
