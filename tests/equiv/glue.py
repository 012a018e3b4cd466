"""glue zero-shot-lm vs lm-eval's sst2 / mrpc / rte tasks: their own YAML configs (prompt, choices, target
delimiter), their own request building (ConfigurableTask.build_all_requests) and HFLM.loglikelihood scoring;
the prediction is the choice with the highest loglikelihood (what lm-eval's `acc` compares with the label).

lm-eval's configs name the Hub's nyu-mll/glue; offline the same dev examples are written to a local JSON
file with the Hub dataset's column names, read from the GLUE TSVs here independently of lrbench's reader.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from equiv.common import SHARED, SMOLLM, cell_frame, run_suite

GLUE = SHARED / "glue-dev"
FILES = {"sst2": "SST-2.dev.tsv", "mrpc": "MRPC.dev.tsv", "rte": "RTE.dev.tsv"}


def hub_columns(task: str, limit: int | None) -> list[dict]:
    """The first `limit` dev examples with nyu-mll/glue's column names."""
    frame = pd.read_csv(GLUE / FILES[task], sep="\t", quoting=csv.QUOTE_NONE, encoding="utf-8-sig",
                        keep_default_na=False)
    if task == "mrpc":
        frame = pd.DataFrame({"sentence1": frame["#1 String"], "sentence2": frame["#2 String"],
                              "label": frame["Quality"]})
    frame = frame.iloc[:limit] if limit else frame
    rows = frame.to_dict("records")
    for i, row in enumerate(rows):
        row["label"], row["idx"] = int(row["label"]), i
    return rows


def lm_eval_task(task: str, folder: Path, limit: int | None):
    import yaml
    from lm_eval.api.task import ConfigurableTask
    import lm_eval

    config = yaml.safe_load((Path(lm_eval.__file__).parent / "tasks" / "glue" / task / "default.yaml").read_text())
    config.pop("tag", None)
    data = folder / f"{task}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in hub_columns(task, limit)))
    config.update(dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": {"validation": str(data)}},
                  training_split=None)
    return ConfigurableTask(config=config)


def lm_eval_predictions(task: str, model, tokenizer, folder: Path, limit: int | None) -> dict:
    """Per example (in file order): lm-eval's choice loglikelihoods and its prediction; and the first prompt."""
    from lm_eval.models.huggingface import HFLM

    folder.mkdir(parents=True, exist_ok=True)
    t = lm_eval_task(task, folder, limit)
    t.build_all_requests(limit=limit, rank=0, world_size=1)
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=8, device="cpu")
    results = lm.loglikelihood(t.instances, disable_tqdm=True)
    scores: dict[int, dict[int, float]] = {}
    for inst, (ll, _) in zip(t.instances, results):
        scores.setdefault(inst.doc_id, {})[inst.idx] = ll
    ordered = [scores[d] for d in sorted(scores)]
    first = [i for i in t.instances if i.doc_id == 0 and i.idx == 0][0]
    return {"loglikelihoods": [[s[k] for k in sorted(s)] for s in ordered],
            "predictions": [max(s, key=s.get) for s in ordered], "first_request": first.arguments}


def lrbench_predictions(task: str, work: Path, limit: int | None) -> list[int]:
    dataset = {"id": f"glue:{GLUE / FILES[task]}", "name": task}
    if limit:
        dataset.update(queries_limit=limit, queries_sample="first")  # lm-eval's --limit: the first N examples
    suite = {"name": f"equiv-glue-{task}", "datasets": [dataset],
             "systems": [{"name": "smollm2", "type": "glue",
                          "params": {"model": SMOLLM, "protocol": "zero-shot-lm", "batch_size": 8,
                                     "device": "cpu"}}]}
    results, _ = run_suite(suite, work)
    frame = cell_frame(results, task, "smollm2", "predictions")
    return [int(x) for x in frame["label"]]


def compare(ours: list[int], theirs: dict) -> dict:
    same = [a == b for a, b in zip(ours, theirs["predictions"])]
    return {"examples": len(theirs["predictions"]), "identical": sum(same),
            "equal": len(ours) == len(theirs["predictions"]) and all(same)}
