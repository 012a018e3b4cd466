"""Sparse plus low-rank factorisation: each targeted Linear's W becomes U V + S.

U V has a fixed rank (fitted by plain SVD, or by SVD-LLM whitening with `factor: whiten`), and S keeps
`sparsity` x (out x in) entries of the residual W - U V:

- support: magnitude  the largest-magnitude entries of the residual (the unstructured counterpart of LOST,
                      Li et al. 2025, whose sparse part is built from the singular components left out of U V);
- support: random     a fixed support drawn uniformly at random, seeded per layer (SLTrain, Han et al. 2024).

On its support S takes the residual's values (the least-squares optimum for that support), then `iterations`
alternations refit U V to W - S and S to W - U V (GoDec-style; neither step can raise ||W - (U V + S)||_F
under factor svd, since each is the exact minimiser given the other).

Storage and the forward pass: S is kept in CSR form (float values, int32 column index per nonzero, int32 row
pointer per output row + 1) and applied with torch's CSR matmul, so y = second(first(x)) + x S^T + b costs
2 r (in + out) + 2 nnz FLOPs per token. A dense S would cost in x out memory and FLOPs and defeat the point.
The report counts every stored word: parameters_after = U, V, biases, S's values and S's indices, an int32 index
counted as 32 / (bits of the weight dtype) parameters (1 at float32). A layer where that is not fewer than
in x out parameters, or not fewer FLOPs, stays dense.

compress: {method: sparse-lowrank, rank: 64, sparsity: 0.02, support: magnitude}
"""

from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from lrbench.compression.config import SparseLowRankConfig, parse_compress
from lrbench.compression.layers import LowRankLinear
from lrbench.compression.lowrank import (_balanced, _calibration_source, _set_module, collect_statistics, count_params,
                                         decompose, linear_flops_per_token, select_targets)
from lrbench.errors import LrbenchError

INDEX_BITS = 32  # torch CSR indices are int32 (or int64); int32 is what is stored


class SparseLowRankLinear(LowRankLinear):
    """LowRankLinear plus a CSR sparse term: y = second(first(x)) + x S^T (bias in `second`)."""

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool, crow: torch.Tensor,
                 col: torch.Tensor, values: torch.Tensor, dtype: torch.dtype | None = None, device=None):
        super().__init__(in_features, out_features, rank, bias, dtype=dtype, device=device)
        self.register_buffer("crow_indices", crow.to(device=device, dtype=torch.int32))
        self.register_buffer("col_indices", col.to(device=device, dtype=torch.int32))
        self.values = nn.Parameter(values.to(device=device, dtype=dtype or values.dtype))

    @property
    def nnz(self) -> int:
        return self.values.numel()

    def sparse(self) -> torch.Tensor:
        with warnings.catch_warnings():  # "sparse CSR support is in beta": the ops used here are stable
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(self.crow_indices, self.col_indices, self.values,
                                           size=(self.out_features, self.in_features))

    def forward(self, x):
        flat = x.reshape(-1, self.in_features)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            residual = (self.sparse() @ flat.T).T
        return super().forward(x) + residual.reshape(*x.shape[:-1], self.out_features)

    def index_params(self) -> float:
        """S's indices in parameters (they are buffers, so model.parameters() leaves them out)."""
        return index_cost(self.col_indices.numel() + self.crow_indices.numel(), self.values.dtype)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nnz={self.nnz}"


def index_cost(entries: int, dtype: torch.dtype) -> float:
    """Parameters-equivalent of `entries` int32 indices next to values of `dtype`."""
    value_bits = torch.finfo(dtype).bits if dtype.is_floating_point else 32
    return entries * INDEX_BITS / value_bits


def layer_cost(rank: int, nnz: int, n_in: int, n_out: int, dtype: torch.dtype = torch.float32) -> tuple[float, int]:
    """(parameters incl. indices, FLOPs per token) of one sparse plus low-rank layer, bias left out."""
    params = rank * (n_in + n_out) + nnz + index_cost(nnz + n_out + 1 if nnz else 0, dtype)
    return params, 2 * rank * (n_in + n_out) + 2 * nnz


def _layer_seed(seed: int, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "little") & (2**63 - 1)


def support_mask(residual: torch.Tensor, nnz: int, support: str, seed: int, name: str) -> torch.Tensor:
    """Boolean mask of the `nnz` entries S may use."""
    mask = torch.zeros(residual.numel(), dtype=torch.bool)
    if nnz:
        if support == "magnitude":
            chosen = torch.topk(residual.abs().flatten(), nnz, sorted=False).indices
        else:
            generator = torch.Generator().manual_seed(_layer_seed(seed, name))
            chosen = torch.randperm(residual.numel(), generator=generator)[:nnz]
        mask[chosen] = True
    return mask.reshape(residual.shape)


def fit_layer(weight: torch.Tensor, rank: int, nnz: int, cfg: SparseLowRankConfig, stat: dict | None,
              name: str = "") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(second: out x rank, first: rank x in, S dense: out x in with nnz nonzeros), float64 on the CPU.

    The low-rank part goes through lowrank.decompose (the same float32 SVD as method svd), so at nnz 0 the factors
    are the svd method's.
    """
    W = weight.detach().to("cpu", torch.float64)
    S = torch.zeros_like(W)
    mask = None
    for step in range(cfg.iterations + 1):
        second, first, _ = decompose(W - S, cfg.factor, stat)
        second, first = second[:, :rank], first[:rank]
        if not nnz:
            break
        residual = W - second @ first
        if mask is None or cfg.support == "magnitude":
            mask = support_mask(residual, nnz, cfg.support, cfg.seed, name)
        S = residual * mask
    return second, first, S


def compress_sparse_lowrank(model: nn.Module, config: dict, *, tokenizer=None, calibration=None,
                            cache_dir: Path | None = None, progress: Callable | None = None,
                            base_dir: Path | None = None) -> tuple[nn.Module, dict]:
    """Replace the targeted Linears of `model` in place; return (model, report). Same signature as compress_model;
    cache_dir is unused (the fit takes seconds on the models benchmarked)."""
    started = time.perf_counter()
    cfg = parse_compress(config)
    modules = select_targets(model, cfg.targets, cfg.exclude)
    stats, texts = {}, []
    if cfg.factor == "whiten":
        source = _calibration_source(calibration, cfg, base_dir)
        if source is None or tokenizer is None:
            raise LrbenchError("factor whiten needs calibration texts and the model's tokenizer",
                               key="compress.calibration", hint="add calibration: {dataset: ..., samples: N}")
        texts = source()
        spec = cfg.calibration
        stats = collect_statistics(model, modules, "whiten", tokenizer, texts,
                                   max_length=spec.max_length if spec else 256, batch_size=spec.batch_size if spec else 8)
    params_before, flops_before = count_params(model), linear_flops_per_token(model)
    layers, index_params, sparse_flops = [], 0.0, 0
    items = progress(modules.items(), total=len(modules), description="factoring") if progress else modules.items()
    for name, module in items:
        n_out, n_in = module.out_features, module.in_features
        dtype, device = module.weight.dtype, module.weight.device
        rank = min(cfg.rank, n_in, n_out)
        nnz = int(round(cfg.sparsity * n_in * n_out))
        params, flops = layer_cost(rank, nnz, n_in, n_out, dtype)
        entry = {"name": name, "in": n_in, "out": n_out, "rank": rank, "nnz": nnz, "params": params,
                 "factored": params < n_in * n_out and flops < 2 * n_in * n_out}
        if not entry["factored"]:
            entry.update(params=n_in * n_out, reason=f"rank {rank} + {nnz:,} sparse entries would keep {params:,.0f} "
                                                     f"of {n_in * n_out:,} parameters: not cheaper")
            layers.append(entry)
            continue
        second, first, S = fit_layer(module.weight, rank, nnz, cfg, stats.get(name), name)
        W = module.weight.detach().to("cpu", torch.float64)
        entry["relative_error"] = float((W - second @ first - S).norm() / W.norm().clamp_min(1e-30))
        second, first = _balanced(second.float(), first.float(), rank)  # as method svd stores its factors
        if nnz:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                csr = S.float().to_sparse_csr()
            new = SparseLowRankLinear(n_in, n_out, rank, module.bias is not None, csr.crow_indices(),
                                      csr.col_indices(), csr.values(), dtype=dtype, device=device)
            index_params += new.index_params()
            sparse_flops += 2 * new.nnz
        else:
            new = LowRankLinear(n_in, n_out, rank, module.bias is not None, dtype=dtype, device=device)
        with torch.no_grad():
            new.first.weight.copy_(first.to(dtype))
            new.second.weight.copy_(second.to(dtype))
            if module.bias is not None:
                new.second.bias.copy_(module.bias)
        _set_module(model, name, new)
        layers.append(entry)
    stored = count_params(model)  # U, V, biases and S's values; its indices are added below
    target_before = sum(m.in_features * m.out_features for m in modules.values())
    report = {
        "method": "sparse-lowrank", "rank": cfg.rank, "sparsity": cfg.sparsity, "support": cfg.support,
        "seed": cfg.seed, "iterations": cfg.iterations, "factor": cfg.factor, "targets": cfg.targets,
        "index_format": f"CSR: int{INDEX_BITS} column index per nonzero and int{INDEX_BITS} row pointer per output "
                        "row + 1, each counted as int-bits / value-bits parameters",
        "calibration": {"texts": len(texts)} if texts else None,
        "params_before": params_before, "params_after": round(stored + index_params),
        "params_ratio": (stored + index_params) / params_before,
        "sparse_values": sum(l["nnz"] for l in layers if l["factored"]), "index_params": round(index_params),
        "target_params_before": target_before, "target_params_after": round(sum(l["params"] for l in layers)),
        "linear_flops_per_token_before": flops_before,
        "linear_flops_per_token_after": linear_flops_per_token(model) + sparse_flops,
        "layers": layers, "layers_factored": sum(l["factored"] for l in layers),
        "layers_dense": [l["name"] for l in layers if not l["factored"]], "heal": None,
        "wall_seconds": time.perf_counter() - started,
    }
    return model, report
