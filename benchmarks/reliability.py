"""Reliability harness: kill -9 at random moments, concurrent runs on one folder; writes RELIABILITY.md.

    python benchmarks/reliability.py [--trials 50] [--pairs 5] [--seed 0] [--only-new]

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

Fast-rerun integrity: a copy of the solo folder (with its rerun.json) gets one file damaged (each cell file
and the manifest and leaderboard files; garbage, truncated, missing, swapped with another cell's), then
`lrbench run` runs again: counted are the damages it detected (it did not answer "0 computed" from the receipt
without saying why), exits, and final leaderboards equal to the solo run's. Two suites: a second suite
sharing two cells with other measures starts a second after the first on one fresh folder; each suite's rows
are compared with its solo run's. The fast path's cost: `lrbench run` answered from rerun.json against
`lrbench --help`, alternating, 10 pairs, the median of the ratios. `--only-new` runs only these three and
merges them into the existing results file.

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


#: a second suite sharing bm25 and robertson with SUITE, scored with other measures
OTHER_SUITE = """name: reliability-other
datasets:
  - id: irds:cranfield
    name: cranfield
measures: [P@10, RR]
systems:
  - name: bm25
    type: bm25
  - name: robertson
    type: bm25
    params: {method: robertson, k1: 1.2}
  - name: b-low
    type: bm25
    params: {b: 0.3}
"""
CELL_FILES = ("run.parquet", "perquery.parquet", "scores.parquet", "meta.json")
TOP_FILES = ("cells.json", "leaderboard.parquet", "leaderboard.md")


def lrbench(args: list[str], env: dict, module: str = "lrbench.cli") -> subprocess.Popen:
    """`python -m lrbench.cli` (the command); module="lrbench" goes through the entry point's fast rerun."""
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
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


def _damage(path: Path, kind: str, other: Path | None) -> None:
    if kind == "garbage":
        path.write_bytes(os.urandom(max(path.stat().st_size, 64)))
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "missing":
        path.unlink()
    else:  # swapped with the same file of another cell
        tmp = path.with_name("swap.tmp")
        path.rename(tmp)
        other.rename(path)
        tmp.rename(other)


def fast_rerun_integrity(suite: Path, solo_folder: Path, solo, env: dict, results: dict) -> list[dict]:
    """Damage one file of a folder whose rerun.json vouches for it; does `lrbench run` notice and repair?"""
    from lrbench.store.store import LocalStore

    trials = results["fast_rerun_integrity"] = []
    keys = sorted(c["key"] for c in json.loads((solo_folder / "cells.json").read_text())["cells"])
    cases = [(f"cells/{keys[1]}/{name}", kind, f"cells/{keys[2]}/{name}") for name in CELL_FILES
             for kind in ("garbage", "truncated", "missing", "swapped")]
    cases += [(name, kind, None) for name in TOP_FILES for kind in ("garbage", "truncated", "missing")]
    for rel, kind, other in cases:
        folder = Path(tempfile.mkdtemp(prefix="lrbench-fast-")) / "out"
        shutil.copytree(solo_folder, folder, copy_function=shutil.copy2)  # times kept: the receipt still holds
        _damage(folder / rel, kind, folder / other if other else None)
        proc = lrbench(["run", str(suite), "--out", str(folder)], env, module="lrbench")
        output = proc.communicate()[0]
        served_blind = "0 computed, 4 cached" in output and "rerun:" not in output
        store = LocalStore(folder)
        intact = proc.returncode == 0 and all(store.intact(k, ("run", "perquery", "scores")) for k in store.keys())
        trials.append({"file": rel.split("/")[-1], "kind": kind, "exit": proc.returncode,
                       "detected": not served_blind, "traceback": "Traceback" in output,
                       "leaderboard_equals_solo": intact and board_of(folder).equals(solo)})
        print(json.dumps(trials[-1]), flush=True)
        shutil.rmtree(folder.parent, ignore_errors=True)
    save(results)
    return trials


def _own_rows(board, suite_text: str):
    import yaml

    suite = yaml.safe_load(suite_text)
    keep = {(d["name"], s["name"], m) for d in suite["datasets"] for s in suite["systems"] for m in suite["measures"]}
    mask = [(d, s.split("[")[0], m) in keep for d, s, m in zip(board["dataset"], board["system"], board["measure"])]
    return board[mask].reset_index(drop=True)


def two_suites(suite: Path, solo, n: int, env: dict, results: dict) -> list[dict]:
    """SUITE and OTHER_SUITE (two shared cells) started a second apart on one fresh folder, n times."""
    other = suite.with_name("other.yaml")
    other.write_text(OTHER_SUITE)
    alone = suite.parent / "other-solo"
    if lrbench(["run", str(other), "--out", str(alone)], env).wait() != 0:
        raise SystemExit("the second suite's solo run failed")
    other_solo = _own_rows(board_of(alone), OTHER_SUITE)
    pairs = results["two_suites"] = []
    for i in range(n):
        folder = Path(tempfile.mkdtemp(prefix="lrbench-two-"))
        first = lrbench(["run", str(suite), "--out", str(folder)], env)
        time.sleep(1.0)
        second = lrbench(["run", str(other), "--out", str(folder)], env)
        codes = [first.wait(), second.wait()]
        board = board_of(folder)
        pairs.append({"pair": i, "exits": codes,
                      "first_equals_solo": _own_rows(board, SUITE).equals(_own_rows(solo, SUITE)),
                      "second_equals_solo": _own_rows(board, OTHER_SUITE).equals(other_solo)})
        print(json.dumps(pairs[-1]), flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    save(results)
    return pairs


def fast_path_cost(suite: Path, solo_folder: Path, env: dict, results: dict, pairs: int = 10) -> dict:
    """`lrbench run` answered from rerun.json against `lrbench --help`, alternating; the median ratio."""
    import statistics

    def timed(args: list[str]) -> float:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "lrbench", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0 or (args[0] == "run" and "0 computed, 4 cached" not in proc.stderr):
            raise SystemExit(proc.stderr)
        return elapsed

    timed(["run", str(suite), "--out", str(solo_folder)])  # warm the file cache
    rows = []
    for _ in range(pairs):
        rows.append((timed(["--help"]), timed(["run", str(suite), "--out", str(solo_folder)])))
    results["fast_path_cost"] = {"pairs": pairs, "help_s": statistics.median(h for h, _ in rows),
                                 "rerun_s": statistics.median(r for _, r in rows),
                                 "median_ratio": statistics.median(r / h for h, r in rows)}
    print(json.dumps(results["fast_path_cost"]), flush=True)
    save(results)
    return results["fast_path_cost"]


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
        *_render_new(results),
        "## Bad inputs",
        "",
        f"`tests/test_bad_inputs_corpus.py` holds {results['bad_inputs']} cases (suite files, data files, results "
        "folders, command-line arguments). Each must exit non-zero with no traceback and one line (`error:`, or "
        "`failed:` for the cell that read bad data) naming the file, key or line and a fix, and leave nothing changed outside the results folder and nothing "
        "half-written in it: `python -m pytest -q tests/test_bad_inputs_corpus.py`.",
        "",
    ]
    return "\n".join(lines)


def _render_new(results: dict) -> list[str]:
    lines = []
    if results.get("new_trials"):
        run = results["new_trials"]
        lines += [f"The sections below were run on {run['date']} ({run['machine']}) with "
                  "`python benchmarks/reliability.py --only-new`, which merges them into the results file.", ""]
    two = results.get("two_suites")
    if two:
        lines += [
            f"## Two suites sharing cells on one folder, a second apart ({len(two)} pairs)",
            "",
            "The suite above and a second suite (`bm25` and `robertson` shared, scored with P@10 and RR, plus one "
            "cell of its own) start a second apart on one fresh folder; a shared cell is scored for both suites' "
            "measures under its lock.",
            "",
            "| figure | count |",
            "|---|---:|",
            f"| processes exiting non-zero | {sum(c != 0 for p in two for c in p['exits'])} of {2 * len(two)} |",
            f"| suites whose rows differ from their solo run's | "
            f"{sum((not p['first_equals_solo']) + (not p['second_equals_solo']) for p in two)} of {2 * len(two)} |",
            "",
        ]
    fast = results.get("fast_rerun_integrity")
    if fast:
        cell = [t for t in fast if t["file"] in CELL_FILES]
        top = [t for t in fast if t["file"] not in CELL_FILES]
        lines += [
            f"## Fast rerun: damaged files under a receipt ({len(fast)} cases)",
            "",
            "A copy of the solo folder, whose `rerun.json` vouches for every file, gets one file damaged: each of "
            "a cell's run/perquery/scores.parquet and meta.json (garbage, truncated, missing, swapped with another "
            "cell's), and cells.json, leaderboard.parquet and leaderboard.md (garbage, truncated, missing); then "
            "`lrbench run` again. Detected: it did not answer \"0 computed, 4 cached\" from the receipt without "
            "naming what changed.",
            "",
            "| figure | cell files | manifest and leaderboard |",
            "|---|---:|---:|",
            f"| damages detected | {sum(t['detected'] for t in cell)} of {len(cell)} | "
            f"{sum(t['detected'] for t in top)} of {len(top)} |",
            f"| runs exiting non-zero or with a traceback | {sum(t['exit'] != 0 or t['traceback'] for t in cell)} | "
            f"{sum(t['exit'] != 0 or t['traceback'] for t in top)} |",
            f"| final leaderboards differing from the solo run's | "
            f"{sum(not t['leaderboard_equals_solo'] for t in cell)} | {sum(not t['leaderboard_equals_solo'] for t in top)} |",
            "",
        ]
    cost = results.get("fast_path_cost")
    if cost:
        lines += [
            "## The fast path's cost",
            "",
            f"`lrbench run` answered from `rerun.json` (four cells: sizes of every vouched file, SHA-256 of the "
            f"small ones) took a median {cost['rerun_s']:.2f} s against {cost['help_s']:.2f} s for `lrbench --help`, "
            f"measured alternately, {cost['pairs']} pairs: a median ratio of {cost['median_ratio']:.2f}.",
            "",
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render", action="store_true", help="rewrite RELIABILITY.md from the results file")
    parser.add_argument("--only-new", action="store_true", help="run only the fast-rerun integrity, two-suite "
                        "and fast-path-cost trials and merge them into the existing results file")
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
    machine = f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.0f} at the start"
    if args.only_new:
        results = dict(json.loads(RESULTS.read_text()), bad_inputs=bad_input_count(),
                       new_trials={"date": time.strftime("%Y-%m-%d"), "machine": machine})
    else:
        results = {"date": time.strftime("%Y-%m-%d"), "machine": machine, "solo_seconds": solo_seconds,
                   "seed": args.seed, "trials_planned": args.trials, "pairs_planned": args.pairs,
                   "bad_inputs": bad_input_count(), "kill_trials": [], "concurrent_pairs": []}
        concurrent_pairs(suite, solo, args.pairs, env, results)  # first: short, and the headline of the issue
        kill_trials(suite, solo, args.trials, rng, env, solo_seconds, results)
    fast_path_cost(suite, work / "solo", env, results)
    fast_rerun_integrity(suite, work / "solo", solo, env, results)
    two_suites(suite, solo, min(args.pairs, 3), env, results)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
