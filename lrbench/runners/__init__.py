"""Runners, one per system type, grouped by family: retrieval (first stages), rerankers, llm (LLM rerankers with
their prompts, sorts, score modes and recipes), tasks (classification, GLUE, perplexity), combine (fusion, given
runs) and neural (the model-runner base every model-backed runner builds on)."""
