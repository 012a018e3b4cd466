"""Reliability harness: kill -9 at random moments, concurrent runs on one folder; writes RELIABILITY.md.

    python benchmarks/reliability.py [--trials 50] [--pairs 5] [--seed 0]

Each kill trial starts `lrbench run` on a four-cell Cranfield suite into a fresh results folder, kills the
process with SIGKILL after a random delay (so kills land in every phase: start-up, cells, leaderboard
commit), and then inspects the folder as a reader would:
- corrupt: a cell with meta.json whose files fail their checksums (`store.check`);
- torn: a manifest (cells.json) that does not load, or names a cell that is not complete;
- stale view: leaderboard.parquet / .md differing from the manifest's checksums (not trusted by readers:
  `show` rebuilds from the manifest's cells; counted to show the window exists);
then reruns to completion and checks that it exits 0, recomputes only the missing cells and that the
leaderboard equals a solo run's (lost: a difference). The concurrency part starts two `lrbench run` of the suite on one fresh
folder at once, `--pairs` times, and compares each final leaderboard with the solo run's.

Results go to benchmarks/reliability_results.json; benchmarks/RELIABILITY.md is regenerated from that file
(`--render` rewrites the page from an existing results file, counting the bad-input corpus again).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "reliability_results.json"
PAGE = ROOT / "benchmarks" / "RELIABILITY.md"
SUITE = """name: reliability
datasets:
  - id: irds:cranfield
    name: cranfield
measures: [nDCG@10, AP, R@100]
baseline: bm25
systems:
  - name: bm25
    type: bm25
  - name: robertson
    type: bm25
    params: {method: robertson, k1: 1.2}
  - name: k1-sweep
    type: bm25
    sweep: {k1: [0.6, 1.5]}
"""


def lrbench(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lrbench.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def board_of(folder: Path):
    from lrbench.store.manifest import load

    board, _ = load(folder)
    return board.sort_values(["dataset", "system", "measure"]).reset_index(drop=True)


def inspect(folder: Path) -> dict:
    """What a reader finds in a folder right after a kill."""
    from lrbench.atomic import sha256_file
    from lrbench.errors import LrbenchError
    from lrbench.store.manifest import BOARD, MANIFEST, MARKDOWN, _read_json
    from lrbench.store.store import LocalStore

    store = LocalStore(folder)
    found = {"cells": 0, "corrupt": 0, "torn": 0, "stale_view": 0, "manifest": False}
    for key in store.keys():
        found["cells"] += 1
        if not store.intact(key, ("run", "perquery", "scores")):
            found["corrupt"] += 1
    if (folder / MANIFEST).exists():
        found["manifest"] = True
        info = _read_json(store, folder / MANIFEST)
        try:
            board_of(folder)
            if info is None or any(not store.has(c["key"]) for c in info["cells"]):
                found["torn"] += 1
        except LrbenchError:
            found["torn"] += 1
        for name in (BOARD, MARKDOWN):
            expected = ((info or {}).get("board") or {}).get(name)
            if expected and (not (folder / name).exists() or sha256_file(folder / name) != expected):
                found["stale_view"] += 1
                break
    return found


def save(results: dict) -> None:
    """The results file after every trial: a harness stopped early still leaves its figures."""
    RESULTS.write_text(json.dumps(results, indent=1))
    PAGE.write_text(render(results))


def kill_trials(suite: Path, solo, n: int, rng: random.Random, env: dict, solo_seconds: float,
                results: dict) -> list[dict]:
    trials = results["kill_trials"]
    folder = Path(tempfile.mkdtemp(prefix="lrbench-kill-"))
    for i in range(n):
        shutil.rmtree(folder, ignore_errors=True)
        delay = rng.uniform(0.2, solo_seconds * 1.1)
        proc = lrbench(["run", str(suite), "--out", str(folder)], env)
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        after_kill = inspect(folder) if folder.exists() else {"cells": 0, "corrupt": 0, "torn": 0,
                                                               "stale_view": 0, "manifest": False}
        resume = lrbench(["run", str(suite), "--out", str(folder)], env)
        output = resume.communicate()[0]
        summary = next((l for l in output.splitlines() if " computed, " in l), "")
        computed = int(summary.split(" computed")[0].split()[-1]) if summary else -1
        same = resume.returncode == 0 and board_of(folder).equals(solo)
        trials.append({"trial": i, "delay_s": round(delay, 2), "killed": killed, **after_kill,
                       "resume_exit": resume.returncode, "recomputed": computed,
                       "expected_recomputed": 4 - after_kill["cells"] + after_kill["corrupt"],
                       "leaderboard_equals_solo": same})
        print(json.dumps(trials[-1]), flush=True)
        save(results)
    shutil.rmtree(folder, ignore_errors=True)
    return trials


def concurrent_pairs(suite: Path, solo, n: int, env: dict, results: dict) -> list[dict]:
    pairs = results["concurrent_pairs"]
    for i in range(n):
        folder = Path(tempfile.mkdtemp(prefix="lrbench-pair-"))
        procs = [lrbench(["run", str(suite), "--out", str(folder)], env) for _ in range(2)]
        codes = [p.wait() for p in procs]
        pairs.append({"pair": i, "exits": codes, "leaderboard_equals_solo": board_of(folder).equals(solo)})
        print(json.dumps(pairs[-1]), flush=True)
        save(results)
        shutil.rmtree(folder, ignore_errors=True)
    return pairs


def bad_input_count() -> int:
    sys.path.insert(0, str(ROOT))
    from tests.test_bad_inputs_corpus import CASES

    return len(CASES)


def render(results: dict) -> str:
    kills = results["kill_trials"]
    killed = [t for t in kills if t["killed"]]
    pairs = results["concurrent_pairs"]
    total = lambda key: sum(t[key] for t in kills)  # noqa: E731
    lines = [
        "# Reliability",
        "",
        "Generated by `python benchmarks/reliability.py` from `benchmarks/reliability_results.json` "
        f"({results['date']}, {results['machine']}). Regenerate the page alone with "
        "`python benchmarks/reliability.py --render`.",
        "",
        "## What is promised",
        "- A cell is complete only when its meta.json exists; meta.json lists the SHA-256 of every file of the cell, "
        "and a cell whose files do not match (edited, swapped, truncated) is recomputed.",
        "- The leaderboard is one commit: leaderboard.parquet and leaderboard.md are written first, cells.json (the "
        "manifest, with their checksums) last and atomically. Readers (`show`, `report`, `compare`, `gate`, `pareto`) "
        "trust only the manifest; a view that does not match it is rebuilt from the manifest's cells.",
        "- Two runs on one folder: each cell is computed under a lock (`.locks/<key>.lock`) and stored write-once, "
        "so the second run waits and shares the cell; the leaderboard merge is locked too. On object stores a "
        "complete cell is kept and the checksums catch any interleaving.",
        "- report.md, --write-baseline, --junit, compare --out and the compression cache are written atomically.",
        "",
        f"## kill -9 at random moments ({len(kills)} of {results.get('trials_planned', len(kills))} trials run, "
        f"{len(killed)} killed before finishing)",
        "",
        "Suite: four BM25 cells on Cranfield (`bm25`, `robertson`, a two-point `k1` sweep); a random delay between "
        f"0.2 s and 1.1x the solo run's {results['solo_seconds']:.1f} s, then SIGKILL, then a rerun to completion; "
        "a fresh folder per trial.",
        "",
        "| figure | count |",
        "|---|---:|",
        f"| trials killed mid-run | {len(killed)} |",
        f"| complete cells found after the kills | {total('cells')} |",
        f"| corrupt cells (checksum or read failure) | {total('corrupt')} |",
        f"| torn manifests (cells.json unreadable or naming an incomplete cell) | {total('torn')} |",
        f"| views (leaderboard.parquet/.md) behind their manifest after a kill (ignored by readers) | "
        f"{sum(1 for t in kills if t['stale_view'])} |",
        f"| resumes exiting non-zero | {sum(1 for t in kills if t['resume_exit'] != 0)} |",
        f"| resumes recomputing other than exactly the missing cells | "
        f"{sum(1 for t in kills if t['recomputed'] != t['expected_recomputed'])} |",
        f"| final leaderboards differing from the solo run's (lost results) | "
        f"{sum(1 for t in kills if not t['leaderboard_equals_solo'])} |",
        "",
        f"## Two runs on one folder at once ({len(pairs)} pairs)",
        "",
        "| figure | count |",
        "|---|---:|",
        f"| processes exiting non-zero | {sum(c != 0 for p in pairs for c in p['exits'])} of {2 * len(pairs)} |",
        f"| final leaderboards differing from the solo run's | {sum(1 for p in pairs if not p['leaderboard_equals_solo'])} "
        f"of {len(pairs)} |",
        "",
        "The same with `--out s3://...` on moto's S3 server is a test: "
        "`tests/test_reliability.py::test_two_runs_on_one_s3_prefix_both_succeed`.",
        "",
        "## Bad inputs",
        "",
        f"`tests/test_bad_inputs_corpus.py` holds {results['bad_inputs']} cases (suite files, data files, results "
        "folders, command-line arguments). Each must exit non-zero with no traceback and one line (`error:`, or "
        "`failed:` for the cell that read bad data) naming the file, key or line and a fix, and leave nothing changed outside the results folder and nothing "
        "half-written in it: `python -m pytest -q tests/test_bad_inputs_corpus.py`.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render", action="store_true", help="rewrite RELIABILITY.md from the results file")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.render:  # the figures of the last run; the corpus size counted again
        results = dict(json.loads(RESULTS.read_text()), bad_inputs=bad_input_count())
        RESULTS.write_text(json.dumps(results, indent=1))
        PAGE.write_text(render(results))
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    work = Path(tempfile.mkdtemp(prefix="lrbench-reliability-"))
    suite = work / "suite.yaml"
    suite.write_text(SUITE)
    for name in ("warm-up", "solo"):  # the first run builds the collection; the second is a typical run
        started = time.perf_counter()
        solo_run = lrbench(["run", str(suite), "--out", str(work / name)], env)
        output = solo_run.communicate()[0]
        if solo_run.returncode != 0:
            raise SystemExit(output)
        solo_seconds = time.perf_counter() - started
    solo = board_of(work / "solo")
    rng = random.Random(args.seed)
    results = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} CPUs, load average "
               f"{os.getloadavg()[0]:.0f} at the start", "solo_seconds": solo_seconds, "seed": args.seed,
               "trials_planned": args.trials, "pairs_planned": args.pairs, "bad_inputs": bad_input_count(),
               "kill_trials": [], "concurrent_pairs": []}
    concurrent_pairs(suite, solo, args.pairs, env, results)  # first: short, and the headline of the issue
    kill_trials(suite, solo, args.trials, rng, env, solo_seconds, results)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
