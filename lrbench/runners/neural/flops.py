"""Forward FLOPs of a transformers model, counted analytically on the batches it really runs.

Per forward pass of the backbone with a batch of B rows padded to S positions (S_k key positions: S plus the
cached past when generating):

    layers:     B * S * 2 * (sum of in x out of every Linear in the layer stack)    (low-rank factors included)
    attention:  B * S * S_k * 4 * layers * heads * head_dim                          (Q.K^T and weights.V)
    heads:      2 * in x out per row each other Linear sees (pooler, classifier, lm_head on the kept logits)

which is what torch.utils.flop_counter.FlopCounterMode counts (matrix products only: norms, activations and
softmax are left out, as in the E2R-FLOPs convention). The meter hooks the model once; counts go to the `Cost`
it is charging (none outside `charging`, e.g. during a warm-up).
"""

from __future__ import annotations

from contextlib import contextmanager

from lrbench.runners.cost import Cost


def _layer_stack(model, layers: int):
    """The ModuleList of the transformer blocks: `layers` long, the largest such list."""
    import torch.nn as nn

    stacks = [m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m) == layers]
    if not stacks:
        return None
    return max(stacks, key=lambda m: sum(p.numel() for p in m.parameters()))


class FlopMeter:
    def __init__(self, model):
        import torch.nn as nn

        self.model = model
        self.cost: Cost | None = None
        self._caller_mask = None  # the padding mask the model was called with (see _inputs)
        config = getattr(model.config, "text_config", None) or model.config
        n_layers = int(config.num_hidden_layers)
        heads = int(config.num_attention_heads)
        head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
        stack = _layer_stack(model, n_layers)
        if stack is None:
            raise ValueError(f"{type(model).__name__}: no stack of {n_layers} layers to count FLOPs on")
        in_stack = {id(m) for m in stack.modules()}
        self.flops_per_token = 2 * sum(m.in_features * m.out_features for m in stack.modules()
                                       if isinstance(m, nn.Linear))
        self.flops_per_pair = 4 * n_layers * heads * head_dim
        backbone = next(m for m in model.modules() if any(c is stack for c in m.children()))
        self._hooks = [] if backbone is model else [model.register_forward_pre_hook(self._inputs, with_kwargs=True)]
        self._hooks += [backbone.register_forward_pre_hook(self._forward, with_kwargs=True)]
        self._hooks += [m.register_forward_hook(self._head) for m in model.modules()
                        if isinstance(m, nn.Linear) and id(m) not in in_stack]

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()

    @contextmanager
    def charging(self, cost: Cost):
        """Count the forward passes run inside the block into `cost`."""
        previous, self.cost = self.cost, cost
        try:
            yield cost
        finally:
            self.cost = previous

    def _inputs(self, module, args, kwargs):
        """Keep the caller's 2-D padding mask: an encoder's layer stack (BERT) is given a 4-D attention bias
        instead, from which the padding cannot be read back."""
        mask = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
        self._caller_mask = mask if mask is not None and mask.dim() == 2 else None

    def _forward(self, module, args, kwargs):
        caller_mask, self._caller_mask = self._caller_mask, None
        if self.cost is None:
            return
        x = kwargs.get("input_ids", args[0] if args else None)
        if x is None:
            x = kwargs["inputs_embeds"]
        rows, width = int(x.shape[0]), int(x.shape[1])
        past = kwargs.get("past_key_values")
        if past is None:
            past = kwargs.get("cache")  # its name in transformers 5
        past_len = int(past.get_seq_length()) if past is not None and hasattr(past, "get_seq_length") else 0
        mask = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
        if mask is not None and mask.dim() == 2:  # a padding mask longer than the input covers the cached past
            past_len = max(past_len, int(mask.shape[-1]) - width)
        keys = int(mask.shape[-1]) if mask is not None and mask.dim() == 2 else past_len + width
        flops = rows * width * self.flops_per_token + rows * width * keys * self.flops_per_pair
        if mask is None or mask.dim() != 2:
            mask = caller_mask if caller_mask is not None and tuple(caller_mask.shape) == (rows, width) else None
        # generated tokens fed back while decoding are the runner's tokens_out, not input
        tokens_in = 0 if past_len else (int(mask.sum()) if mask is not None else rows * width)
        self.cost.add(flops=flops, calls=1, tokens_in=tokens_in)

    def _head(self, module, args, output):
        if self.cost is not None:
            self.cost.add(flops=2 * args[0].numel() * module.out_features)


def meter_for(loaded) -> FlopMeter:
    """The meter of a loaded model (made on first use, again if the model object was replaced)."""
    meter = getattr(loaded, "_meter", None)
    if meter is None or meter.model is not loaded.model:
        if meter is not None:
            meter.remove()
        meter = FlopMeter(loaded.model)
        loaded._meter = meter
    return meter
