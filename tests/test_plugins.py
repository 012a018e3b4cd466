"""A runner in a plain .py file beside the suite runs from the command line, without packaging: `--plugin FILE`
or `plugins:` in the suite; a broken plugin is one error line."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import write_suite

PLUGIN = '''
import lrbench
from lrbench.runners.base import Output, Runner, RunnerParams


class ReverseParams(RunnerParams):
    k: int = 10


@lrbench.register_runner
class ReverseReranker(Runner):
    """Reverse the first stage's order."""

    type = "reverse-{tag}"
    needs_input = True
    Params = ReverseParams

    def run(self, dataset, inputs, ctx):
        run = next(iter(inputs.values())).copy()
        run["score"] = -run["score"]
        return Output(run=run.groupby("query_id").head(self.params.k))
'''


def _suite(tmp_path, tag: str, plugins=None):
    data = {"name": f"plugin-{tag}",
            "datasets": [{"id": "irds:cranfield", "name": "cranfield", "measures": ["nDCG@10"],
                          "relevance": {1: 4, 2: 3, 3: 2, 4: 1, -1: 0}, "queries_limit": 20}],
            "systems": [{"name": "bm25", "type": "bm25"},
                        {"name": "reversed", "type": f"reverse-{tag}", "input": "bm25", "depth": 10}]}
    if plugins:
        data["plugins"] = plugins
    return write_suite(tmp_path, data, f"{tag}.yaml")


def _lrbench(*args, cwd):
    return subprocess.run([sys.executable, "-m", "lrbench", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=600)


def test_plugin_file_from_the_command_line(shared, tmp_path):
    (tmp_path / "my_runner.py").write_text(PLUGIN.replace("{tag}", "cli"))
    suite = _suite(tmp_path, "cli")
    assert _lrbench("validate", str(suite), cwd=tmp_path).returncode == 2  # unknown type without the plugin
    done = _lrbench("run", str(suite), "--plugin", str(tmp_path / "my_runner.py"), "--out", str(tmp_path / "out"),
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "computed reversed on cranfield" in done.stderr
    assert "reversed" in (tmp_path / "out" / "leaderboard.md").read_text()


def test_plugins_listed_in_the_suite_and_a_broken_one(shared, tmp_path):
    (tmp_path / "suite_runner.py").write_text(PLUGIN.replace("{tag}", "suite"))
    suite = _suite(tmp_path, "suite", plugins=["suite_runner.py"])
    assert _lrbench("validate", str(suite), cwd=tmp_path).returncode == 0
    done = _lrbench("run", str(suite), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (tmp_path / "broken.py").write_text("raise RuntimeError('no model here')\n")
    bad = _suite(tmp_path, "bad", plugins=["broken.py"])
    done = _lrbench("validate", str(bad), cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() + done.stdout.splitlines() if line.strip()]
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert any("plugins[0]" in line and "plugin 'broken.py' failed to import: RuntimeError: no model here" in line
               for line in lines), lines
