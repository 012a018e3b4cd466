"""Low-rank factorisation of a transformer's Linear layers: svd, asvd, whiten (SVD-LLM) and afm.

Each targeted nn.Linear (out x in) becomes LowRankLinear: `second(first(x))` with first: in -> k and
second: k -> out, when that saves both parameters and FLOPs at the chosen rank; otherwise it stays dense.

- svd:    W = U S V^T, keep the top k.                       first = V_k^T,             second = U_k S_k
- asvd:   scale columns by s_j = mean|x_j|^alpha (ASVD), SVD of W diag(s), undo the scaling.
                                                             first = V_k^T diag(s)^-1,  second = U_k S_k
- whiten: Cholesky of the inputs' Gram X^T X = L L^T (SVD-LLM), SVD of W L: the truncation minimises
          ||(W - W')X||_F.                                   first = V_k^T L^-1,        second = U_k S_k
- afm:    PCA of the layer's outputs Y = W X (uncentred): top-k eigenvectors U_k of Y^T Y, W' = U_k U_k^T W.
                                                             first = U_k^T W,           second = U_k
whiten and afm minimise the same output-reconstruction error on the same data, so they agree up to numerics.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import hashlib
import json
import math
import time
import weakref
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from lrbench.compression.calibration import texts_hash
from lrbench.compression.layers import LowRankLinear, _batches, _model_device
from lrbench.compression.config import NEEDS_CALIBRATION, LowRankConfig, parse_compress
from lrbench.errors import LrbenchError

VERSION = "1"

#: the last full decomposition (model, method, calibration) -> (factors, spectra), reused across ratios
_DECOMPOSITIONS: dict = {}


# -- module selection -------------------------------------------------------------------

def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def select_targets(model: nn.Module, targets: list[str], exclude: list[str] | None = None) -> dict[str, nn.Linear]:
    """Linear modules whose name matches a target glob (all Linears but output heads when no globs)."""
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    if not linears:
        raise LrbenchError("the model has no nn.Linear layers to factor", key="compress")
    exclude = list(exclude or [])
    if not targets:
        exclude = exclude + ["lm_head", "*classifier*", "*score"]
    chosen = {}
    for glob in targets or ["*"]:
        hits = [n for n in linears if fnmatch.fnmatchcase(n, glob)]
        if not hits:
            sample = ", ".join(list(linears)[:6])
            raise LrbenchError(f"target glob '{glob}' matches no Linear module", key="compress.targets",
                               hint=f"Linear modules look like: {sample}, ...")
        chosen.update({n: linears[n] for n in hits})
    chosen = {n: m for n, m in chosen.items() if not any(fnmatch.fnmatchcase(n, g) for g in exclude)}
    if not chosen:
        raise LrbenchError("every targeted Linear is excluded", key="compress.exclude")
    return dict(sorted(chosen.items(), key=lambda kv: list(linears).index(kv[0])))


# -- calibration statistics -------------------------------------------------------------

@torch.no_grad()
def collect_statistics(model: nn.Module, modules: dict[str, nn.Linear], method: str, tokenizer,
                       texts: list[str], *, max_length: int = 256, batch_size: int = 8) -> dict[str, dict]:
    """Per layer: ASVD mean |x| per input channel, the inputs' Gram (whiten) or the outputs' Gram (afm).

    Only real tokens count (padding is masked out). Layers reading the same input tensor share one Gram.
    """
    stats: dict[str, dict] = {}
    alias: dict[str, str] = {}
    state = {"mask": None, "ptrs": {}, "first": True}

    def hook(name):
        def fn(module, inputs, output):
            if name in alias:
                return
            x = inputs[0]
            if method != "afm" and state["first"]:
                seen = state["ptrs"].get(x.data_ptr())
                if seen is not None and seen[1]() is x:  # the very same tensor feeds another layer
                    alias[name] = seen[0]
                    return
                state["ptrs"][x.data_ptr()] = (name, weakref.ref(x))
            mask = state["mask"]
            if method == "afm":
                y = output if module.bias is None else output - module.bias
                rows = y[mask] if mask is not None and y.shape[:-1] == mask.shape else y.reshape(-1, y.shape[-1])
            else:
                rows = x[mask] if mask is not None and x.shape[:-1] == mask.shape else x.reshape(-1, x.shape[-1])
            rows = rows.detach().float()
            entry = stats.setdefault(name, {"n": 0, "shape": tuple(x.shape)})
            entry["shape"] = tuple(x.shape)
            entry["n"] += rows.shape[0]
            # per-batch products in float32 (on the model's device), accumulated in float64 on the CPU
            if method == "asvd":
                entry["abs_sum"] = entry.get("abs_sum", 0) + rows.abs().sum(0).to("cpu", torch.float64)
            else:
                entry["gram"] = entry.get("gram", 0) + (rows.T @ rows).to("cpu", torch.float64)
        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in modules.items()]
    was_training = model.training
    model.eval()
    try:
        device = _model_device(model)
        for batch in _batches(tokenizer, texts, batch_size, max_length, device):
            state["mask"] = batch["attention_mask"].bool()
            state["ptrs"] = {}
            model(**batch)
            state["first"] = False
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    for name, owner in alias.items():
        stats[name] = stats[owner]
    missing = [n for n in modules if n not in stats]
    if missing:
        raise LrbenchError(f"calibration never reached layer(s) {', '.join(missing[:3])}", key="compress.targets",
                           hint="target layers the model's forward pass uses")
    return stats


# -- factorisation ----------------------------------------------------------------------

def _chol(gram: torch.Tensor) -> torch.Tensor:
    jitter = 1e-8 * float(gram.diagonal().mean().clamp_min(1e-12))
    eye = torch.eye(gram.shape[0], dtype=gram.dtype)
    for _ in range(12):
        L, info = torch.linalg.cholesky_ex(gram + jitter * eye)
        if int(info) == 0:
            return L
        jitter *= 10
    raise LrbenchError("the calibration inputs' Gram matrix is not positive definite",
                       key="compress.calibration", hint="use more calibration samples")


@contextlib.contextmanager
def _threads_for(matrix: torch.Tensor):
    """One thread for matrices up to 2048 wide: multi-threaded LAPACK on small matrices is slower, and on a
    busy machine its spinning threads make it up to 100x slower."""
    previous = torch.get_num_threads()
    small = max(matrix.shape) <= 2048
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small:
            torch.set_num_threads(previous)


def decompose(weight: torch.Tensor, method: str, stat: dict | None, alpha: float = 0.5):
    """Full factors (second: out x r, first: r x in) ordered by importance, and the spectrum that orders them."""
    W = weight.detach().to("cpu", torch.float64)

    def svd(matrix):  # float32 SVD (fast; ample for the top components), results back in float64
        with _threads_for(matrix):
            U, S, Vh = torch.linalg.svd(matrix.float(), full_matrices=False)
        return U.double(), S.double(), Vh.double()

    if method == "svd":
        U, S, Vh = svd(W)
        return U * S, Vh, S
    if method == "asvd":
        scale = (stat["abs_sum"] / max(stat["n"], 1)).clamp_min(1e-6) ** alpha
        U, S, Vh = svd(W * scale)
        return U * S, Vh / scale, S
    if method == "whiten":
        L = _chol(stat["gram"])
        U, S, Vh = svd(W @ L)
        # Vh L^-1 = (L^-T Vh^T)^T: one triangular solve (float64)
        first = torch.linalg.solve_triangular(L.T, Vh.T, upper=True).T
        return U * S, first, S
    if method == "afm":
        with _threads_for(stat["gram"]):
            evals, evecs = torch.linalg.eigh(stat["gram"])
        order = torch.argsort(evals, descending=True)
        r = min(W.shape)
        Q = evecs[:, order[:r]]
        sigma = evals[order[:r]].clamp_min(0).sqrt()
        return Q, Q.T @ W, sigma
    raise LrbenchError(f"unknown method '{method}'", key="compress.method")


def _balanced(second: torch.Tensor, first: torch.Tensor, rank: int):
    """The top-`rank` factors rescaled so each component has equal norm in both (same product): keeps
    the factors well scaled for fp16/bf16 and for healing with a per-parameter optimiser such as Adam."""
    second, first = second[:, :rank].double(), first[:rank].double()
    scale = (second.norm(dim=0).clamp_min(1e-30) / first.norm(dim=1).clamp_min(1e-30)).sqrt()
    return (second / scale).float(), (first * scale[:, None]).float()


def _round(k: float, multiple: int, full: int) -> int:
    return int(min(full, max(multiple, multiple * round(k / multiple))))


def cheaper(rank: int, n_in: int, n_out: int) -> tuple[bool, bool]:
    """(fewer parameters, fewer FLOPs per token) for the factored form at this rank."""
    params = rank * (n_in + n_out) < n_in * n_out
    flops = 2 * rank * (n_in + n_out) < 2 * n_in * n_out
    return params, flops


def choose_ranks(shapes: dict[str, tuple[int, int]], spectra: dict[str, torch.Tensor],
                 cfg: LowRankConfig) -> dict[str, int]:
    """Rank per layer (before the is-it-cheaper check), rounded to multiples of cfg.rank_multiple."""
    m = cfg.rank_multiple
    ranks = {}
    if cfg.energy is not None:
        for name, S in spectra.items():
            energy = (S ** 2).cumsum(0) / (S ** 2).sum().clamp_min(1e-30)
            k = int((energy < cfg.energy - 1e-12).sum()) + 1
            ranks[name] = min(len(S), m * math.ceil(k / m))
        return ranks
    if cfg.allocation == "uniform" or cfg.ratio >= 1.0:
        for name, (n_out, n_in) in shapes.items():
            ranks[name] = _round(cfg.ratio * n_in * n_out / (n_in + n_out), m, min(n_in, n_out))
        return ranks
    # heavy-tail: spend a global budget on the rank units with the most normalised spectral energy per
    # parameter; layers whose spectrum has a heavy tail (slow decay) get more rank, WeLore-style.
    budget = cfg.ratio * sum(o * i for o, i in shapes.values())
    dense: set[str] = set()
    for _ in range(4):
        pool = {n: s for n, s in shapes.items() if n not in dense}
        left = budget - sum(o * i for n, (o, i) in shapes.items() if n in dense)
        units = []
        for name, (n_out, n_in) in pool.items():
            S2 = spectra[name] ** 2
            share = S2 / S2.sum().clamp_min(1e-30)
            cost = n_in + n_out
            units.extend((float(v) / cost, name, cost) for v in share)
        units.sort(key=lambda u: -u[0])
        counts = dict.fromkeys(pool, 0)
        spent = 0.0
        for _, name, cost in units:
            if spent + cost > left:
                continue
            counts[name] += 1
            spent += cost
        ranks = {n: _round(k, m, min(shapes[n])) if k else m for n, k in counts.items()}
        newly = {n for n, k in ranks.items() if not all(cheaper(k, shapes[n][1], shapes[n][0]))}
        if not newly:
            break
        dense |= newly
    for name in dense:
        ranks[name] = min(shapes[name])
    return ranks


def linear_flops_per_token(model: nn.Module) -> int:
    """2 x multiply-adds of every Linear for one token (attention score FLOPs not included)."""
    total = 0
    for module in model.modules():
        if isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features
    return total


def count_params(model: nn.Module) -> int:
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


# -- caching ----------------------------------------------------------------------------

def model_fingerprint(model: nn.Module, modules: dict[str, nn.Linear]) -> str:
    h = hashlib.sha256()
    name = getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
    h.update(str(name).encode())
    for n, m in modules.items():
        h.update(n.encode())
        h.update(m.weight.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def _cached_report(report_path: Path) -> dict | None:
    """The cached factorisation's report, or None when absent or damaged (then it is recomputed)."""
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and isinstance(report.get("layers"), list) else None


def _cache_paths(cache_dir: Path | None, key: str):
    if cache_dir is None:
        return None, None
    folder = Path(cache_dir) / "compressed"
    return folder / f"{key}.pt", folder / f"{key}.json"


# -- entry point ------------------------------------------------------------------------

def _dense_report(model: nn.Module, cfg: LowRankConfig, modules: dict[str, nn.Linear], started: float) -> dict:
    """ratio 1.0: the factored form is never cheaper at full rank, so every layer stays dense (no calibration)."""
    params, flops = count_params(model), linear_flops_per_token(model)
    layers = [{"name": n, "in": m.in_features, "out": m.out_features, "rank": min(m.in_features, m.out_features),
               "full_rank": min(m.in_features, m.out_features), "factored": False, "energy_kept": 1.0,
               "reason": "ratio 1.0 keeps every parameter: the layer stays dense"} for n, m in modules.items()]
    target = sum(m.in_features * m.out_features for m in modules.values())
    return {"method": cfg.method, "ratio": cfg.ratio, "energy": None, "allocation": cfg.allocation,
            "targets": cfg.targets, "rank_multiple": cfg.rank_multiple, "calibration": None,
            "params_before": params, "params_after": params, "target_params_before": target,
            "target_params_after": target, "linear_flops_per_token_before": flops,
            "linear_flops_per_token_after": flops, "layers": layers, "layers_factored": 0,
            "layers_dense": [l["name"] for l in layers], "heal": None, "cache_key": None, "cache_hit": False,
            "wall_seconds": time.perf_counter() - started}


def _calibration_source(calibration, cfg: LowRankConfig, base_dir: Path | None):
    """A callable giving the calibration texts: the block's calibration dataset wins over texts a runner
    passes as a list (a callable passed in is used as is)."""
    if callable(calibration):
        return calibration
    if cfg.calibration is not None:
        from lrbench.compression.calibration import calibration_texts

        return lambda: calibration_texts(cfg.calibration.model_dump(), Path(base_dir or Path.cwd()))
    if calibration is not None:
        texts = list(calibration)
        return lambda: texts
    return None


def compress_model(model: nn.Module, config: dict, *, tokenizer=None, calibration=None,
                   cache_dir: Path | None = None, progress: Callable | None = None,
                   base_dir: Path | None = None) -> tuple[nn.Module, dict]:
    """Factor the targeted Linears of `model` in place; return (model, report).

    `config` is one sweep point's `compress:` block (ratio a number). `calibration` is a callable returning
    the calibration texts, or a list of them, or None (then the block's `calibration.dataset` is read, its
    paths relative to base_dir); asvd, whiten, afm and heal need them. Compressed weights are cached under
    cache_dir keyed by model + method + ratio/energy/allocation + targets + calibration hash + heal.
    """
    started = time.perf_counter()
    cfg = parse_compress(config)
    if cfg.ratio is not None and cfg.ratio >= 1.0:
        return model, _dense_report(model, cfg, select_targets(model, cfg.targets, cfg.exclude), started)
    needs_texts = cfg.method in NEEDS_CALIBRATION or cfg.heal
    calibration = _calibration_source(calibration, cfg, base_dir) if needs_texts else None
    if needs_texts and calibration is None:
        raise LrbenchError(f"method {cfg.method}{' with heal' if cfg.heal else ''} needs calibration texts",
                           key="compress.calibration", hint="add calibration: {dataset: ..., samples: N}")
    if needs_texts and tokenizer is None:
        raise LrbenchError("calibration needs the model's tokenizer", key="compress")
    modules = select_targets(model, cfg.targets, cfg.exclude)
    params_before, flops_before = count_params(model), linear_flops_per_token(model)
    texts = calibration() if needs_texts else []
    if needs_texts and not texts:
        raise LrbenchError("calibration gave no texts", key="compress.calibration")
    calib_hash = texts_hash(texts) if texts else None
    model_key = model_fingerprint(model, modules)
    key = hashlib.sha256(json.dumps({"v": VERSION, "model": model_key,
                                     "cfg": cfg.canonical(), "calibration": calib_hash},
                                    sort_keys=True, default=str).encode()).hexdigest()[:24]
    weights_path, report_path = _cache_paths(cache_dir, key)
    dtype = next(iter(modules.values())).weight.dtype
    device = next(iter(modules.values())).weight.device

    report = _cached_report(report_path) if weights_path is not None and weights_path.exists() else None
    if report is not None:
        state = torch.load(weights_path, map_location=device, weights_only=True)
        for layer in report["layers"]:
            if layer["factored"]:
                old = modules[layer["name"]]
                new = LowRankLinear(old.in_features, old.out_features, layer["rank"], old.bias is not None,
                                    dtype=dtype, device=device)
                new.load_state_dict({k.removeprefix(layer["name"] + "."): v for k, v in state.items()
                                     if k.startswith(layer["name"] + ".")})
                _set_module(model, layer["name"], new)
        report.update(cache_hit=True, wall_seconds=time.perf_counter() - started)
        return model, report

    teacher = copy.deepcopy(model) if cfg.heal else None
    max_length = cfg.calibration.max_length if cfg.calibration else 256
    batch_size = cfg.calibration.batch_size if cfg.calibration else 8
    # The full decomposition does not depend on the ratio: a sweep over ratios reuses it (one in memory).
    memo_key = (model_key, cfg.method, cfg.alpha, calib_hash if cfg.method in NEEDS_CALIBRATION else None,
                max_length, batch_size)
    factors, spectra, shapes = {}, {}, {}
    if memo_key in _DECOMPOSITIONS:
        factors, spectra = _DECOMPOSITIONS[memo_key]
        factors, spectra = {n: factors[n] for n in modules}, {n: spectra[n] for n in modules}
    else:
        stats = {}
        if cfg.method in NEEDS_CALIBRATION:
            stats = collect_statistics(model, modules, cfg.method, tokenizer, texts,
                                       max_length=max_length, batch_size=batch_size)
        items = progress(modules.items(), total=len(modules), description="factoring") if progress else modules.items()
        for name, module in items:
            second, first, sigma = decompose(module.weight, cfg.method, stats.get(name), cfg.alpha)
            factors[name] = (second.float(), first.float())
            spectra[name] = sigma
        del stats
        _DECOMPOSITIONS.clear()
        _DECOMPOSITIONS[memo_key] = (factors, spectra)
    for name, module in modules.items():
        shapes[name] = (module.out_features, module.in_features)
    ranks = choose_ranks(shapes, spectra, cfg)
    layers = []
    for name, module in modules.items():
        n_out, n_in = shapes[name]
        rank = ranks[name]
        fewer_params, fewer_flops = cheaper(rank, n_in, n_out)
        entry = {"name": name, "in": n_in, "out": n_out, "rank": rank, "full_rank": min(n_in, n_out),
                 "factored": fewer_params and fewer_flops}
        S2 = spectra[name] ** 2
        entry["energy_kept"] = float(S2[:rank].sum() / S2.sum().clamp_min(1e-30))
        if entry["factored"]:
            second, first = _balanced(*factors[name], rank)
            new = LowRankLinear(n_in, n_out, rank, module.bias is not None, dtype=dtype, device=device)
            with torch.no_grad():
                new.first.weight.copy_(first.to(dtype))
                new.second.weight.copy_(second.to(dtype))
                if module.bias is not None:
                    new.second.bias.copy_(module.bias)
            _set_module(model, name, new)
        else:
            entry["reason"] = (f"rank {rank} would keep {rank * (n_in + n_out):,} of {n_in * n_out:,} parameters: "
                               "the factored form is not cheaper")
        layers.append(entry)
    del factors

    heal_report = None
    if cfg.heal:
        from lrbench.compression.heal import heal

        heal_report = heal(model, teacher, tokenizer, texts, cfg.heal.model_dump(), max_length=max_length)
        del teacher

    params_after, flops_after = count_params(model), linear_flops_per_token(model)
    target_before = sum(o * i for o, i in shapes.values())
    target_after = sum(l["rank"] * (l["in"] + l["out"]) if l["factored"] else l["in"] * l["out"] for l in layers)
    report = {
        "method": cfg.method, "ratio": cfg.ratio, "energy": cfg.energy, "allocation": cfg.allocation,
        "targets": cfg.targets, "rank_multiple": cfg.rank_multiple,
        "calibration": {"spec": cfg.calibration.model_dump() if cfg.calibration else None, "texts": len(texts), "hash": calib_hash} if texts else None,
        "params_before": params_before, "params_after": params_after,
        "target_params_before": target_before, "target_params_after": target_after,
        "linear_flops_per_token_before": flops_before, "linear_flops_per_token_after": flops_after,
        "layers": layers,
        "layers_factored": sum(l["factored"] for l in layers),
        "layers_dense": [l["name"] for l in layers if not l["factored"]],
        "heal": heal_report, "cache_key": key, "cache_hit": False,
        "wall_seconds": time.perf_counter() - started,
    }
    if weights_path is not None:
        weights_path.parent.mkdir(parents=True, exist_ok=True)
        state = {}
        for layer in layers:
            if layer["factored"]:
                for k, v in model.get_submodule(layer["name"]).state_dict().items():
                    state[f"{layer['name']}.{k}"] = v.detach().cpu()
        from lrbench.atomic import write_text, write_with

        write_with(weights_path, lambda tmp: torch.save(state, tmp))
        write_text(report_path, json.dumps(report, indent=1, default=str))  # last: it marks the entry complete
    return model, report
