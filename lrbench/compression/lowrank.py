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
import functools
import hashlib
import json
import math
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from lrbench.compression.calibration import texts_hash
from lrbench.compression.layers import LowRankLinear, _batches, _model_device
from lrbench.compression.config import NEEDS_CALIBRATION, LowRankConfig, parse_compress
from lrbench.errors import LrbenchError

VERSION = "1"


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


def _cached_report(meta: dict | None) -> dict | None:
    """The cached factorisation's report, or None when absent or not one (then it is recomputed)."""
    report = (meta or {}).get("report")
    return report if isinstance(report, dict) and isinstance(report.get("layers"), list) else None


def _cache_folder(cache_dir: Path | None, key: str) -> Path | None:
    return None if cache_dir is None else Path(cache_dir) / "compressed" / key


# -- lookup: which layers, at which rank -------------------------------------------------

@dataclass
class LayerChoice:
    """One targeted Linear: its rank and whether the factored form is cheaper there (then it is factored)."""

    name: str
    n_in: int
    n_out: int
    rank: int
    factored: bool
    energy_kept: float
    reason: str | None = None

    def row(self) -> dict:
        """The layer's entry in the report."""
        row = {"name": self.name, "in": self.n_in, "out": self.n_out, "rank": self.rank,
               "full_rank": min(self.n_in, self.n_out), "factored": self.factored, "energy_kept": self.energy_kept}
        return row if self.reason is None else {**row, "reason": self.reason}


def choose_layers(modules: dict[str, nn.Linear], spectra: dict[str, torch.Tensor],
                  cfg: LowRankConfig) -> list[LayerChoice]:
    """Per targeted layer, the rank cfg asks for (choose_ranks) and whether factoring it at that rank saves both
    parameters and FLOPs."""
    shapes = {name: (m.out_features, m.in_features) for name, m in modules.items()}
    ranks = choose_ranks(shapes, spectra, cfg)
    choices = []
    for name, (n_out, n_in) in shapes.items():
        rank = ranks[name]
        factored = all(cheaper(rank, n_in, n_out))
        S2 = spectra[name] ** 2
        reason = None if factored else (f"rank {rank} would keep {rank * (n_in + n_out):,} of {n_in * n_out:,} "
                                        "parameters: the factored form is not cheaper")
        choices.append(LayerChoice(name, n_in, n_out, rank, factored,
                                   float(S2[:rank].sum() / S2.sum().clamp_min(1e-30)), reason))
    return choices


def dense_layers(modules: dict[str, nn.Linear]) -> list[LayerChoice]:
    """ratio 1.0: the factored form is never cheaper at full rank, so every layer stays dense."""
    return [LayerChoice(n, m.in_features, m.out_features, min(m.in_features, m.out_features), False, 1.0,
                        "ratio 1.0 keeps every parameter: the layer stays dense") for n, m in modules.items()]


# -- factorisation of the model -----------------------------------------------------------

class DecompositionCache:
    """Full decompositions (factors and spectra per layer) by model, method and calibration. They do not depend
    on the ratio, so the points of a ratio sweep factor the model once. Keeps the last `size` (a decomposition
    is as large as the model's targeted layers)."""

    def __init__(self, size: int = 1):
        self.size = size
        self.entries: dict[tuple, tuple[dict, dict]] = {}
        self.hits = 0

    def get(self, key: tuple) -> tuple[dict, dict] | None:
        found = self.entries.get(key)
        self.hits += found is not None
        return found

    def put(self, key: tuple, factors: dict, spectra: dict) -> None:
        while self.entries and len(self.entries) >= self.size:
            self.entries.pop(next(iter(self.entries)))
        self.entries[key] = (factors, spectra)


def decompose_layers(model: nn.Module, modules: dict[str, nn.Linear], cfg: LowRankConfig, tokenizer,
                     texts: list[str], progress: Callable | None = None) -> tuple[dict, dict]:
    """(factors, spectra) per layer: the full decomposition, calibration statistics first when the method
    needs them."""
    stats = {}
    if cfg.method in NEEDS_CALIBRATION:
        stats = collect_statistics(model, modules, cfg.method, tokenizer, texts,
                                   max_length=_calibration_setting(cfg, "max_length", 256),
                                   batch_size=_calibration_setting(cfg, "batch_size", 8))
    factors, spectra = {}, {}
    items = progress(modules.items(), total=len(modules), description="factoring") if progress else modules.items()
    for name, module in items:
        second, first, sigma = decompose(module.weight, cfg.method, stats.get(name), cfg.alpha)
        factors[name] = (second.float(), first.float())
        spectra[name] = sigma
    return factors, spectra


def factor_layers(model: nn.Module, modules: dict[str, nn.Linear], choices: list[LayerChoice],
                  factors: dict) -> None:
    """Swap each chosen layer for a LowRankLinear holding its top-rank factors (in the layer's dtype)."""
    for choice in choices:
        if not choice.factored:
            continue
        module = modules[choice.name]
        second, first = _balanced(*factors[choice.name], choice.rank)
        new = LowRankLinear(choice.n_in, choice.n_out, choice.rank, module.bias is not None,
                            dtype=module.weight.dtype, device=module.weight.device)
        with torch.no_grad():
            new.first.weight.copy_(first.to(module.weight.dtype))
            new.second.weight.copy_(second.to(module.weight.dtype))
            if module.bias is not None:
                new.second.bias.copy_(module.bias)
        _set_module(model, choice.name, new)


def _calibration_setting(cfg: LowRankConfig, name: str, default: int) -> int:
    return getattr(cfg.calibration, name) if cfg.calibration else default


# -- the compressed-weights cache on disk -------------------------------------------------

def load_factored(model: nn.Module, modules: dict[str, nn.Linear], folder: Path | None) -> dict | None:
    """Put the cached factored layers into `model` and return their report; None when nothing usable is cached
    (an entry whose files do not match its manifest is removed: lrbench.checked_cache)."""
    from lrbench.checked_cache import read_checked

    report = _cached_report(read_checked(folder)) if folder is not None else None
    if report is None:
        return None
    dtype = next(iter(modules.values())).weight.dtype
    device = next(iter(modules.values())).weight.device
    state = torch.load(folder / "weights.pt", map_location=device, weights_only=True)
    for layer in report["layers"]:
        if layer["factored"]:
            old = modules[layer["name"]]
            new = LowRankLinear(old.in_features, old.out_features, layer["rank"], old.bias is not None,
                                dtype=dtype, device=device)
            new.load_state_dict({k.removeprefix(layer["name"] + "."): v for k, v in state.items()
                                 if k.startswith(layer["name"] + ".")})
            _set_module(model, layer["name"], new)
    return report


def save_factored(model: nn.Module, report: dict, folder: Path) -> None:
    from lrbench.checked_cache import publish_checked

    state = {}
    for layer in report["layers"]:
        if layer["factored"]:
            for k, v in model.get_submodule(layer["name"]).state_dict().items():
                state[f"{layer['name']}.{k}"] = v.detach().cpu()
    # the report as JSON reads it back; an entry another process published first is kept
    publish_checked(folder, lambda tmp: torch.save(state, tmp / "weights.pt"),
                    {"report": json.loads(json.dumps(report, default=str))},
                    supersedes=(f"{folder.name}.pt", f"{folder.name}.json"))  # the former layout: two files


# -- report ---------------------------------------------------------------------------------

def compression_report(cfg: LowRankConfig, model: nn.Module, choices: list[LayerChoice], *, params_before: int,
                       flops_before: int, calibration: dict | None, heal: dict | None, cache_key: str | None,
                       started: float) -> dict:
    layers = [c.row() for c in choices]
    return {
        "method": cfg.method, "ratio": cfg.ratio, "energy": cfg.energy, "allocation": cfg.allocation,
        "targets": cfg.targets, "rank_multiple": cfg.rank_multiple, "calibration": calibration,
        "params_before": params_before, "params_after": count_params(model),
        "target_params_before": sum(c.n_in * c.n_out for c in choices),
        "target_params_after": sum(c.rank * (c.n_in + c.n_out) if c.factored else c.n_in * c.n_out
                                   for c in choices),
        "linear_flops_per_token_before": flops_before, "linear_flops_per_token_after": linear_flops_per_token(model),
        "layers": layers, "layers_factored": sum(c.factored for c in choices),
        "layers_dense": [c.name for c in choices if not c.factored],
        "heal": heal, "cache_key": cache_key, "cache_hit": False, "wall_seconds": time.perf_counter() - started,
    }


# -- entry point ------------------------------------------------------------------------

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


def _calibration_loader(cfg: LowRankConfig, calibration, tokenizer,
                        base_dir: Path | None) -> Callable[[], list[str]]:
    """Checks that the texts asvd, whiten, afm and heal need can be had; returns what reads them (read later:
    it may be slow). The other methods get []."""
    if not (cfg.method in NEEDS_CALIBRATION or cfg.heal):
        return list
    source = _calibration_source(calibration, cfg, base_dir)
    if source is None:
        raise LrbenchError(f"method {cfg.method}{' with heal' if cfg.heal else ''} needs calibration texts",
                           key="compress.calibration", hint="add calibration: {dataset: ..., samples: N}")
    if tokenizer is None:
        raise LrbenchError("calibration needs the model's tokenizer", key="compress")

    def load() -> list[str]:
        texts = source()
        if not texts:
            raise LrbenchError("calibration gave no texts", key="compress.calibration")
        return texts

    return load


class LowRankCompressor:
    """Factors models per `compress:` blocks; owns the DecompositionCache its calls share."""

    def __init__(self, decompositions: DecompositionCache | None = None):
        self.decompositions = decompositions or DecompositionCache()

    def compress(self, model: nn.Module, config: dict, *, tokenizer=None, calibration=None,
                 cache_dir: Path | None = None, progress: Callable | None = None,
                 base_dir: Path | None = None) -> tuple[nn.Module, dict]:
        """See compress_model."""
        started = time.perf_counter()
        cfg = parse_compress(config)
        if cfg.ratio is not None and cfg.ratio >= 1.0:
            modules = select_targets(model, cfg.targets, cfg.exclude)
            size = count_params(model), linear_flops_per_token(model)
            return model, compression_report(cfg, model, dense_layers(modules), params_before=size[0],
                                             flops_before=size[1], calibration=None, heal=None, cache_key=None,
                                             started=started)
        read_texts = _calibration_loader(cfg, calibration, tokenizer, base_dir)
        modules = select_targets(model, cfg.targets, cfg.exclude)
        params_before, flops_before = count_params(model), linear_flops_per_token(model)
        texts = read_texts()
        calib_hash = texts_hash(texts) if texts else None
        model_key = model_fingerprint(model, modules)
        key = hashlib.sha256(json.dumps({"v": VERSION, "model": model_key, "cfg": cfg.canonical(),
                                         "calibration": calib_hash},
                                        sort_keys=True, default=str).encode()).hexdigest()[:24]
        folder = _cache_folder(cache_dir, key)
        report = load_factored(model, modules, folder)
        if report is not None:
            report.update(cache_hit=True, wall_seconds=time.perf_counter() - started)
            return model, report

        teacher = copy.deepcopy(model) if cfg.heal else None
        factors, spectra = self.decomposition(model, modules, cfg, tokenizer, texts, model_key, calib_hash, progress)
        choices = choose_layers(modules, spectra, cfg)
        factor_layers(model, modules, choices, factors)
        del factors
        heal_report = None
        if cfg.heal:
            from lrbench.compression.heal import heal

            heal_report = heal(model, teacher, tokenizer, texts, cfg.heal.model_dump(),
                               max_length=_calibration_setting(cfg, "max_length", 256))
            del teacher
        calibration_info = {"spec": cfg.calibration.model_dump() if cfg.calibration else None, "texts": len(texts),
                            "hash": calib_hash} if texts else None
        report = compression_report(cfg, model, choices, params_before=params_before, flops_before=flops_before,
                                    calibration=calibration_info, heal=heal_report, cache_key=key, started=started)
        if folder is not None:
            save_factored(model, report, folder)
        return model, report

    def decomposition(self, model, modules, cfg: LowRankConfig, tokenizer, texts, model_key: str,
                      calib_hash: str | None, progress) -> tuple[dict, dict]:
        """(factors, spectra) of the targeted layers, from this compressor's cache when the same model was
        decomposed the same way before (another ratio of a sweep)."""
        memo_key = (model_key, cfg.method, cfg.alpha, calib_hash if cfg.method in NEEDS_CALIBRATION else None,
                    _calibration_setting(cfg, "max_length", 256), _calibration_setting(cfg, "batch_size", 8))
        found = self.decompositions.get(memo_key)
        if found is None:
            found = decompose_layers(model, modules, cfg, tokenizer, texts, progress)
            self.decompositions.put(memo_key, *found)
        factors, spectra = found
        return {n: factors[n] for n in modules}, {n: spectra[n] for n in modules}


@functools.lru_cache(maxsize=1)
def process_compressor() -> LowRankCompressor:
    """The compressor the cells of one process share, so the points of a ratio sweep decompose the model once."""
    return LowRankCompressor()


def compress_model(model: nn.Module, config: dict, *, tokenizer=None, calibration=None,
                   cache_dir: Path | None = None, progress: Callable | None = None,
                   base_dir: Path | None = None, compressor: LowRankCompressor | None = None) -> tuple[nn.Module, dict]:
    """Factor the targeted Linears of `model` in place; return (model, report).

    `config` is one sweep point's `compress:` block (ratio a number). `calibration` is a callable returning
    the calibration texts, or a list of them, or None (then the block's `calibration.dataset` is read, its
    paths relative to base_dir); asvd, whiten, afm and heal need them. Compressed weights are cached under
    cache_dir keyed by model + method + ratio/energy/allocation + targets + calibration hash + heal.
    `compressor` holds the decompositions reused across calls (default: process_compressor()).
    """
    return (compressor or process_compressor()).compress(model, config, tokenizer=tokenizer, calibration=calibration,
                                                         cache_dir=cache_dir, progress=progress, base_dir=base_dir)
