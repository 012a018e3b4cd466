"""Shared pieces of the neural runners (embedder, cross-encoder, llm-pointwise, llm-listwise, icr).

Reusable entry points (for other parts of lrbench, e.g. compression experiments):

    from lrbench.runners.neural import load_model
    loaded = load_model(kind, model_id, params, *, compress=None, calibration=None, cache_dir=None)
        kind:      "embedder" (AutoModel + pooling), "cross-encoder" (AutoModelForSequenceClassification)
                   "causal-lm" (AutoModelForCausalLM) or "masked-lm" (AutoModelForMaskedLM, SPLADE)
        model_id:  a Hub id, resolved offline via lrbench.models.resolve (model map, packaged copies,
                   HF cache), or a local folder
        params:    dict (or NeuralParams) with revision, device ("auto"|"cpu"|"cuda"|"mps"), dtype
                   ("float32"|"bfloat16"|"float16"|"auto"), threads, max_length, trust_remote_code,
                   pooling/normalize (embedders), num_labels (cross-encoders)
        compress:  a typed block (or a dict) -> lrbench.compression.compress_model(model, compress, tokenizer=,
                   calibration=, cache_dir=) is applied right after loading; its report lands in
                   loaded.compression
      -> LoadedModel: .model, .tokenizer, .device, .dtype, .resolved (model_id, path, revision, source),
                      .load_seconds, .max_length, .pooling, .info() (profile fields)

    embeddings = loaded.encode(texts, batch_size=32, prefix="", sort=True, max_length=None)
        -> numpy float32 array (len(texts), hidden), input order; pooling and normalisation from the
           sentence-transformers config (or the params); batches bucketed by token length.

Other helpers: batching.length_batches / map_batched / pad_batch, device.select_device / select_dtype /
set_threads, profile.PeakMemory / Stopwatch / latency_stats.
"""

from lrbench.runners.neural.loading import LoadedModel, load_model

__all__ = ["LoadedModel", "load_model"]
