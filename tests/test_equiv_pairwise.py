"""llm-pairwise against llm-rankers' PairwiseLlmRanker (PyPI llm-rankers 0.0.2), live, on DL19 BM25 lists.

1. Control flow, with an oracle in place of the model (a fixed function of the two doc ids shown, in order: the
   better DL19 qrels grade, but "A" whatever is shown for some pairs (position bias: a conflict) and an unreadable
   answer for others): heapsort, bubblesort (lrbench's `sliding`) and allpair give the same compares in the same
   order (each as (first, second) doc ids) and the same final ranking. llm-rankers' allpair branch only runs T5
   (it generates with `decoder_input_ids`), so its batches are answered by a stand-in that reads the two doc ids
   from each raw prompt; its own loop, scoring and sort run as they are.
2. Prompts: the reference's causal-LM `compare` renders and tokenizes both orders with the SmolLM2 tokenizer; the
   strings and ids equal lrbench's; swapping the two passages must break the equality.
3. SmolLM2-135M-Instruct end to end (one query, BM25 top-4, passages cut to 16 tokens by the reference's own
   `truncate`): the same prompts, generated tokens, compare sequence and ranking for every method. SmolLM2 answers
   ' "' after " Passage:", never a label, so on this model every pair is a conflict on both sides; the
   answer-dependent paths are covered by part 1.
"""

from __future__ import annotations

import hashlib
import re
import types

import pytest

from lrbench.runners.llm.pairwise import PairwiseRunner
from lrbench.runners.llm.prompts.pairwise import pair_preference, read_label
from lrbench.runners.neural.profile import Stopwatch
from neural_helpers import SMOLLM, shared_dl19_candidates, smollm_tokenizer

pytest.importorskip("llmrankers", reason="install the reference extra: pip install --no-deps llm-rankers==0.0.2")

REF_METHOD = {"heapsort": "heapsort", "sliding": "bubblesort", "allpairs": "allpair"}


def _hash(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:12], 16)


@pytest.fixture(scope="module")
def dl19():
    from conftest import SHARED

    lists, texts = shared_dl19_candidates(n_queries=4, depth=20)
    lines = (SHARED / "trec-dl-2019-passage" / "qrels.dl19-passage.txt").read_text().splitlines()
    grades = {(q, d): int(g) for q, _, d, g in (line.split() for line in lines)}
    return lists, texts, grades


def oracle(qid: str, grades: dict):
    """(first doc id, second doc id) -> the generated answer text."""
    def answer(first: str, second: str) -> str:
        h = _hash(f"{first}|{second}")
        if h % 7 == 0:
            return '"'  # unreadable
        if h % 5 == 0:
            return "A"  # position bias
        better = max((first, second), key=lambda d: (grades.get((qid, d), 0), _hash(d)))
        return "A" if better == first else "B"
    return answer


class _Batch:
    """A DataLoader batch of raw prompts: what the allpair loop reads from `input_ids`."""

    def __init__(self, prompts):
        self.prompts = prompts
        self.shape = (len(prompts), 1)

    def __len__(self):
        return len(self.prompts)

    def to(self, device):
        return self


class _Outputs(list):
    @property
    def shape(self):
        return (len(self), 1)

    def cpu(self):
        return self

    def numpy(self):
        return list(self)


def allpair_stubs(monkeypatch, answer_for_prompt):
    """Run llm-rankers' allpair branch without T5: its prompts in batches of two, each answered by
    `answer_for_prompt(raw prompt) -> "Passage X"`."""
    from llmrankers import pairwise as ref

    monkeypatch.setattr(ref, "Text2TextGenerationDataset", lambda data, tokenizer: list(data))
    monkeypatch.setattr(ref, "DataCollatorWithPadding", lambda *a, **k: None)
    monkeypatch.setattr(ref, "DataLoader", lambda data, batch_size, **k: [
        {"input_ids": _Batch(data[i:i + batch_size])} for i in range(0, len(data), batch_size)])
    monkeypatch.setattr(ref, "tqdm", lambda x: x)

    class T5Stub:
        device = "cpu"

        def generate(self, batch, **kwargs):
            assert "decoder_input_ids" in kwargs
            return _Outputs(answer_for_prompt(p) for p in batch.prompts)

    return T5Stub()


def reference_prompt() -> str:
    """The prompt PairwiseLlmRanker.__init__ assigns to self.prompt, read from the installed source (its
    __init__ loads a model by name)."""
    import ast
    import inspect

    from llmrankers import pairwise

    tree = ast.parse(inspect.getsource(pairwise.PairwiseLlmRanker.__init__).strip())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "self.prompt":
            return node.value.value
    raise AssertionError("no self.prompt in PairwiseLlmRanker.__init__")


def reference_ranker(method: str, k: int):
    from llmrankers.pairwise import PairwiseLlmRanker

    ranker = object.__new__(PairwiseLlmRanker)
    ranker.prompt = reference_prompt()
    ranker.method, ranker.k, ranker.batch_size, ranker.device = REF_METHOD[method], k, 2, "cpu"
    ranker.total_compare = ranker.total_prompt_tokens = ranker.total_completion_tokens = 0
    ranker.decoder_input_ids = types.SimpleNamespace(shape=(2, 1))
    return ranker


PROMPT_DOCS = re.compile(r'Passage A: "(.*)"\n\nPassage B: "(.*)"\n\nOutput', re.S)


def reference_with_oracle(monkeypatch, method, k, query, docids, answer):
    from llmrankers.rankers import SearchResult

    ranker = reference_ranker(method, k)
    seen = []

    def compare(q, docs):
        seen.append((docs[0], docs[1]))
        return [f"Passage {answer(docs[0], docs[1])}", f"Passage {answer(docs[1], docs[0])}"]

    def raw(prompt):
        first, second = PROMPT_DOCS.search(prompt).groups()
        if not seen or seen[-1] != (second, first):  # the second prompt of a pair is its swap
            seen.append((first, second))
        return f"Passage {answer(first, second)}"

    ranker.compare = compare
    ranker.llm = allpair_stubs(monkeypatch, raw)
    ranker.tokenizer = types.SimpleNamespace(batch_decode=lambda outs, **k: list(outs))
    ranked = ranker.rerank(query, [SearchResult(docid=d, score=0.0, text=d) for d in docids])
    return seen, [r.docid for r in ranked]


def ours_with_oracle(method, k, docids, answer, swap=False):
    runner = PairwiseRunner({"model": SMOLLM, "method": method, "k": k})

    def preferences(loaded, query, docs, pairs, watch):
        runner.trace += pairs
        out = []
        for i, j in pairs:
            a, b = (docs[j], docs[i]) if swap else (docs[i], docs[j])
            out.append(pair_preference(read_label(answer(a, b)), read_label(answer(b, a))))
        return out

    runner.preferences = preferences
    runner.trace = []
    order = runner.order(None, "q", list(docids), None)
    return [(docids[i], docids[j]) for i, j in runner.trace], [docids[i] for i in order]


SETTINGS = [("heapsort", 10, 20), ("heapsort", 3, 20), ("heapsort", 30, 20), ("heapsort", 10, 7),
            ("sliding", 10, 20), ("sliding", 3, 20), ("sliding", 30, 12), ("allpairs", 10, 20),
            ("allpairs", 3, 12), ("allpairs", 30, 9)]


@pytest.mark.parametrize("method,k,depth", SETTINGS)
def test_same_compares_and_ranking_as_llm_rankers(dl19, monkeypatch, method, k, depth):
    lists, _, grades = dl19
    compares = 0
    for qid, query, docids in lists:
        docids = docids[:depth]
        answer = oracle(qid, grades)
        ref_seen, ref_ranking = reference_with_oracle(monkeypatch, method, k, query, docids, answer)
        seen, ranking = ours_with_oracle(method, k, docids, answer)
        assert seen == ref_seen
        assert ranking == ref_ranking
        assert sorted(ranking) == sorted(docids)
        compares += len(seen)
    assert compares > 3 * len(lists)


@pytest.mark.parametrize("method", ["heapsort", "sliding", "allpairs"])
def test_swapped_passages_disagree(dl19, monkeypatch, method):
    """Perturbation: each pair asked with its passages swapped must change the compares or the ranking."""
    lists, _, grades = dl19
    differs = False
    for qid, query, docids in lists:
        answer = oracle(qid, grades)
        ref = reference_with_oracle(monkeypatch, method, 10, query, docids[:12], answer)
        differs |= ours_with_oracle(method, 10, docids[:12], answer, swap=True) != ref
    assert differs


# -- prompts and the real model ----------------------------------------------------------------

class Capturing:
    """The real tokenizer, recording each batch of strings the reference tokenizes and their ids."""

    def __init__(self, tok):
        self.tok, self.texts, self.ids = tok, [], []

    def __call__(self, texts, **kwargs):
        enc = self.tok(texts, **kwargs)
        self.texts.append(list(texts))
        self.ids.append(enc.input_ids.tolist())
        return enc

    def batch_decode(self, outputs, **kwargs):  # allpair's stand-in answers are already text
        return list(outputs) if all(isinstance(o, str) for o in outputs) else self.tok.batch_decode(outputs, **kwargs)

    def __getattr__(self, name):
        return getattr(self.tok, name)


class RecordingModel:
    """Wraps a model (or a stand-in): records the new tokens of each generated row."""

    def __init__(self, model):
        self.model, self.new = model, []

    def generate(self, input_ids=None, **kwargs):
        out = self.model.generate(input_ids=input_ids, **kwargs)
        self.new += out[:, input_ids.shape[1]:].tolist()
        return out

    def __call__(self, *args, **kwargs):
        return self.model(*args, **kwargs)


class NextToken:
    def __init__(self, token_id: int):
        self.token_id = token_id

    def generate(self, input_ids, **kwargs):
        import torch

        return torch.cat([input_ids, torch.full((input_ids.shape[0], 1), self.token_id)], dim=1)


def causal_reference(tok, model, method: str, k: int):
    ranker = reference_ranker(method, k)
    ranker.config = types.SimpleNamespace(model_type="llama")
    ranker.tokenizer, ranker.llm = Capturing(tok), RecordingModel(model)
    return ranker


@pytest.fixture(scope="module")
def tokenizer():
    return smollm_tokenizer()


def test_prompts_are_llm_rankers_compare_prompts(dl19, tokenizer):
    lists, texts, _ = dl19
    ours = PairwiseRunner({"model": SMOLLM, "recipe": "prp"})
    p = ours.params
    loaded = types.SimpleNamespace(tokenizer=tokenizer)
    answer = tokenizer(" B", add_special_tokens=False)["input_ids"][0]
    checked = 0
    for _, query, docids in lists[:3]:
        ref = causal_reference(tokenizer, NextToken(answer), "heapsort", 10)
        q = ref.truncate(query, p.query_max_tokens)
        for a, b in [(0, 1), (3, 2), (5, 19)]:
            d1, d2 = (ref.truncate(texts[docids[i]], p.doc_max_tokens) for i in (a, b))
            assert ours.truncated(loaded, query, [texts[docids[a]], texts[docids[b]]]) == (q, [d1, d2])
            out = ref.compare(q, [d1, d2])
            assert ref.tokenizer.texts[-1] == [ours.prompt_string(tokenizer, q, [d1, d2]),
                                              ours.prompt_string(tokenizer, q, [d2, d1])]
            assert ref.tokenizer.ids[-1] == [ours.prompt_ids(loaded, q, [d1, d2]), ours.prompt_ids(loaded, q, [d2, d1])]
            assert out == ["Passage B", "Passage B"]  # the same answer in both orders: a conflict
            assert pair_preference(*(read_label(tokenizer.decode([answer])) for _ in range(2))) == 0.5
            # perturbation: the passages in the other order are not the reference's first prompt
            assert ours.prompt_string(tokenizer, q, [d2, d1]) != ref.tokenizer.texts[-1][0]
            checked += 1
    assert checked == 9
    assert ref.tokenizer.texts[-1][0].endswith("Output Passage A or Passage B:<|im_end|>\n<|im_start|>assistant\n"
                                               " Passage:")


@pytest.fixture(scope="module")
def smollm():
    import torch
    from transformers import AutoModelForCausalLM

    from lrbench.models import resolve

    torch.set_num_threads(1)
    return AutoModelForCausalLM.from_pretrained(resolve(SMOLLM).path, dtype=torch.float32).eval()


@pytest.mark.parametrize("method", ["heapsort", "sliding", "allpairs"])
def test_smollm2_end_to_end_equals_llm_rankers(dl19, tokenizer, smollm, monkeypatch, method):
    from llmrankers.rankers import SearchResult

    from lrbench.runners.neural.loading import pad_token_id

    lists, texts, _ = dl19
    _, query, docids = lists[0]
    docids = docids[:4]
    ref = causal_reference(tokenizer, smollm, method, 10)
    q = ref.truncate(query, 16)
    docs = [ref.truncate(texts[d], 16) for d in docids]
    seen = []  # compared passage texts (BM25 lists can hold one text under two ids)
    compare = ref.compare

    def recorded(query_, pair):
        seen.append((pair[0], pair[1]))
        return compare(query_, pair)

    ref.compare = recorded
    raw_pairs = {}
    for a in docs:
        for b in docs:
            raw_pairs[ref.prompt.format(query=q, doc1=a, doc2=b)] = (a, b)
    pending = {}

    def t5_answer(prompt):  # allpair: each pair's two raw prompts answered by the causal-LM compare
        a, b = raw_pairs[prompt]
        if (b, a) in pending:
            return pending.pop((b, a))[1]
        pending[(a, b)] = out = recorded(q, [a, b])
        return out[0]

    real_llm = ref.llm
    t5 = allpair_stubs(monkeypatch, t5_answer)

    class Dispatch:
        device = "cpu"

        def generate(self, *args, **kwargs):
            return t5.generate(*args, **kwargs) if "decoder_input_ids" in kwargs else real_llm.generate(*args, **kwargs)

    ref.llm = Dispatch()
    ranked = [r.docid for r in ref.rerank(q, [SearchResult(docid=d, score=0.0, text=t) for d, t in zip(docids, docs)])]
    assert seen

    runner = PairwiseRunner({"model": SMOLLM, "recipe": "prp", "method": method, "doc_max_tokens": 16,
                             "query_max_tokens": 16, "batch_size": 2})
    model = RecordingModel(smollm)
    loaded = types.SimpleNamespace(tokenizer=tokenizer, model=model, device="cpu", pad_id=pad_token_id(tokenizer))
    watch = Stopwatch()
    order = runner.order(loaded, q, docs, watch)
    assert [(docs[i], docs[j]) for i, j in runner.trace] == seen
    assert [docids[i] for i in order] == ranked
    prompts = [pair for batch in ref.tokenizer.texts for pair in batch]
    assert prompts == [s for i, j in runner.trace for s in (runner.prompt_string(tokenizer, q, [docs[i], docs[j]]),
                                                           runner.prompt_string(tokenizer, q, [docs[j], docs[i]]))]
    assert model.new == real_llm.new  # the same generated token for every prompt
    assert watch.counts["compares"] == len(seen) and watch.counts["model_calls"] == 2 * len(seen)
