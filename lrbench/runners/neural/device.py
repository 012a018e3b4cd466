"""Device, dtype and thread selection for the neural runners."""

from __future__ import annotations

from lrbench.errors import LrbenchError

DTYPES = ("auto", "float32", "bfloat16", "float16")


def select_device(name: str = "auto") -> str:
    """`auto` picks cuda, then mps, then cpu; an explicit device must exist."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    base = name.split(":")[0]
    if base == "cuda" and not torch.cuda.is_available():
        raise LrbenchError("device 'cuda' requested but CUDA is not available", key="params.device",
                           hint="use device: auto or cpu")
    if base == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise LrbenchError("device 'mps' requested but MPS is not available", key="params.device",
                           hint="use device: auto or cpu")
    if base not in ("cpu", "cuda", "mps"):
        raise LrbenchError(f"unknown device '{name}'", key="params.device", hint="auto, cpu, cuda, cuda:N or mps")
    return name


def select_dtype(name: str, device: str):
    """`auto`: bfloat16 on CUDA devices that support it, float32 elsewhere."""
    import torch

    if name not in DTYPES:
        raise LrbenchError(f"unknown dtype '{name}'", key="params.dtype", hint=", ".join(DTYPES))
    if name == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if name == "float16" and device == "cpu":
        raise LrbenchError("float16 is not supported on cpu", key="params.dtype", hint="use float32 or bfloat16 on cpu")
    return getattr(torch, name)


def dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op threads when asked; return the count in effect."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    return torch.get_num_threads()
