"""The README's Python section runs as written: every ```python block, in order, in a fresh
folder (the default store goes there; `events.parquet` is created for the data example)."""

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import mlops

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks():
    text = README.read_text()
    section = text.split("## Using the store from Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_every_python_example_in_the_readme_runs(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert len(blocks) >= 5, "the README's Python section lost its examples"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_STORE", str(tmp_path / ".mlops"))
    monkeypatch.setattr(mlops, "_default_store", None)
    pq.write_table(pa.table({
        "user_id": [f"u{i % 50}" for i in range(200)],
        "age": [20 + i % 60 for i in range(200)],
        "plan": [["basic", "premium"][i % 2] for i in range(200)],
    }), "events.parquet")
    namespace = {"__name__": "readme"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as e:  # name the block that broke
            raise AssertionError(f"README python block {i + 1} failed: {e!r}\n{code}") from e
    assert os.path.isdir(tmp_path / ".mlops")
    store = mlops.get_store()
    # churn@1 is registered by hand in the first example, churn@2 by the burn trainer.
    assert store.get_model_version("churn@latest")["version"] == 2
    assert store.get_model_version("mean@latest")["run_id"] is not None
