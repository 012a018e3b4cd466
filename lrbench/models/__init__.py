"""Offline model resolution: suites name models by Hugging Face Hub id; lrbench resolves the id.

Order of resolution for `resolve(model_id)`:
1. an existing local folder given as the id itself;
2. the lrbench model map (`$LRBENCH_MODELS/map.json`, default ~/.cache/lrbench/models), filled by
   `lrbench models import HUB_ID PATH` (a folder, or a .gguf file converted once to safetensors);
3. a packaged offline copy (PACKAGED below: a Python package that ships the weights), imported into the map
   on first use;
4. the Hugging Face cache (`huggingface_hub.snapshot_download(..., local_files_only=True)`);
5. the Hub itself, unless HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set.
Otherwise: one LrbenchError line saying how to import the model.
"""

from lrbench.models.registry import (PACKAGED, ResolvedModel, import_model, list_models, models_dir,
                                     resolve)

__all__ = ["PACKAGED", "ResolvedModel", "import_model", "list_models", "models_dir", "resolve"]
