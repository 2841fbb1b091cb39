"""One valid call per public kernel of hpnn.kernels: the starting points the fuzzer mutates one
argument at a time. Each builder takes a numpy Generator and returns the call's arguments by
name (every kernel is called with keywords, so a mutation names the argument it broke).
Backward calls take what the reference forward returned, so they are valid by construction.
Shapes are small: a call costs microseconds and its reference twin about a millisecond."""
import inspect

import numpy as np

from hpnn import kernels, reference

PUBLIC = sorted(name for name in dir(kernels)
                if not name.startswith("_") and inspect.isfunction(getattr(kernels, name)))

# Arguments the kernel writes into (checked for read-only, non-contiguous and overlapping).
IN_PLACE = {
    "sgd_step": ("param", "momentum_buffer"),
    "adam_step": ("param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    "rmsprop_step": ("param", "square_avg", "grad_avg", "momentum_buffer"),
    "adagrad_step": ("param", "state_sum"),
    "relu_forward": ("out",),
    "leaky_relu_forward": ("out",),
}


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _activation(name):
    def build(rng):
        x = f32(rng, 2, 3, 4)
        if name.endswith("_forward"):
            return {"x": x}
        forward = getattr(reference, name.replace("_backward", "_forward"))
        saved = x if name.split("_")[0] in ("relu", "leaky", "gelu") else forward(x)
        saved_name = "x" if saved is x else "y"
        return {"grad_y": f32(rng, 2, 3, 4), saved_name: saved}
    return build


def _out(rng):
    return {"x": f32(rng, 2, 3, 4), "out": np.zeros((2, 3, 4), np.float32)}


def _pair_loss(name, positive=False):
    def build(rng):
        first = "probs" if name in ("bce_forward", "bce_backward") else "logits"
        first = "input" if name.startswith("mse") else first
        pred = f32(rng, 4, 3)
        if positive:
            pred = 1 / (1 + np.exp(-pred))
        call = {first: pred, "target": rng.random((4, 3)).astype(np.float32),
                "reduction": "mean"}
        if name.endswith("_backward"):
            call = {"grad_loss": np.float32(1.5), **call}
        return call
    return build


def _class_loss(name):
    def build(rng):
        logits = f32(rng, 5, 4)
        first = "log_probs" if name.startswith("nll") else "logits"
        if first == "log_probs":
            logits = reference.log_softmax_forward(logits)
        call = {first: logits, "target": rng.integers(0, 4, 5), "reduction": "mean",
                "weight": rng.random(4).astype(np.float32)}
        if name.endswith("_backward"):
            call = {"grad_loss": np.float32(0.5), **call}
        return call
    return build


def _conv(name):
    def build(rng):
        x, w, b = f32(rng, 2, 4, 7, 6), f32(rng, 6, 2, 3, 3), f32(rng, 6)
        geometry = {"stride": 1, "padding": 1, "dilation": 1, "groups": 2}
        grad_y = f32(rng, 2, 6, 7, 6)
        if name == "conv2d_forward":
            return {"x": x, "weight": w, "bias": b, **geometry}
        if name == "conv2d_backward":
            return {"grad_y": grad_y, "x": x, "weight": w, **geometry}
        if name == "conv2d_backward_bias":
            return {"grad_y": grad_y}
        if name == "conv2d_backward_input":
            return {"grad_y": grad_y, "weight": w, "input_shape": x.shape, **geometry}
        return {"grad_y": grad_y, "x": x, "weight_shape": w.shape, **geometry}
    return build


def _conv_pool(name):
    def build(rng):
        x, w, b = f32(rng, 2, 3, 8, 8), f32(rng, 4, 3, 3, 3), f32(rng, 4)
        if name.endswith("_forward"):
            return {"x": x, "weight": w, "bias": b, "padding": 1}
        output, indices = reference.conv2d_relu_max_pool2d_forward(x, w, b, padding=1)
        return {"grad": f32(rng, *output.shape), "indices": indices.astype(np.int32),
                "output": output, "x": x, "weight": w, "padding": 1}
    return build


def _max_pool(name):
    def build(rng):
        x = f32(rng, 2, 3, 7, 8)
        geometry = {"kernel_size": 3, "stride": 2, "padding": 1}
        if name.endswith("_forward"):
            return {"x": x, **geometry, "dilation": 1, "ceil_mode": True}
        y, indices = reference.max_pool2d_forward(x, **geometry)
        return {"grad_y": f32(rng, *y.shape), "indices": indices, "input_shape": x.shape}
    return build


def _avg_pool(name):
    def build(rng):
        x = f32(rng, 2, 3, 7, 8)
        geometry = {"kernel_size": (3, 2), "stride": 2, "padding": 1, "ceil_mode": True,
                    "count_include_pad": False}
        if name.endswith("_forward"):
            return {"x": x, **geometry}
        y = reference.avg_pool2d_forward(x, **geometry)
        return {"grad_y": f32(rng, *y.shape), "input_shape": x.shape, **geometry}
    return build


def _global_pool(name):
    def build(rng):
        x = f32(rng, 2, 3, 5, 4)
        if name.endswith("_forward"):
            return {"x": x}
        return {"grad_y": f32(rng, 2, 3, 1, 1), "input_shape": x.shape}
    return build


def _batch_norm(name):
    def build(rng):
        x = f32(rng, 4, 3, 5, 2)
        weight, bias = f32(rng, 3), f32(rng, 3)
        mean, var = f32(rng, 3), rng.random(3).astype(np.float32) + 0.5
        if name == "batch_norm_backward":
            _, save_mean, save_invstd = reference.batch_norm_forward_train(
                x, weight, bias, mean.copy(), var.copy())
            return {"grad_y": f32(rng, *x.shape), "x": x, "weight": weight,
                    "save_mean": save_mean, "save_invstd": save_invstd}
        return {"x": x, "weight": weight, "bias": bias, "running_mean": mean,
                "running_var": var}
    return build


def _row_norm(name):
    """layer_norm over the last two dims of (3, 4, 5), group_norm with 2 groups of (3, 4, 5)."""
    def build(rng):
        x, layer = f32(rng, 3, 4, 5), name.startswith("layer")
        shape_arg = {"normalized_shape": (4, 5)} if layer else {"num_groups": 2}
        weight = f32(rng, 4, 5) if layer else f32(rng, 4)
        if name.endswith("_forward"):
            bias = f32(rng, *weight.shape)
            return {"x": x, **shape_arg, "weight": weight, "bias": bias, "eps": 1e-5}
        forward = getattr(reference, name.replace("_backward", "_forward"))
        _, mean, rstd = forward(x, *shape_arg.values(), weight, None, 1e-5)
        return {"grad_y": f32(rng, *x.shape), "x": x, **shape_arg, "weight": weight,
                "mean": mean, "rstd": rstd}
    return build


def _embedding(name):
    def build(rng):
        indices = rng.integers(0, 7, (3, 4))
        if name == "embedding_forward":
            return {"weight": f32(rng, 7, 5), "indices": indices}
        return {"grad_y": f32(rng, 3, 4, 5), "indices": indices, "num_embeddings": 7,
                "padding_idx": 2}
    return build


def _masked_softmax(name):
    def build(rng):
        scores = f32(rng, 2, 3, 4, 4)
        if name.endswith("_forward"):
            return {"x": scores, "mask": f32(rng, 4, 4), "scale": 0.5, "causal": True}
        y = reference.masked_softmax_forward(scores, None, 0.5)
        return {"grad_y": f32(rng, *scores.shape), "y": y, "scale": 0.5}
    return build


def _optim(name):
    def build(rng):
        shape = (5, 7)
        def state():
            return rng.random(shape).astype(np.float32)
        call = {"param": f32(rng, *shape), "grad": f32(rng, *shape), "lr": 0.1}
        if name == "sgd_step":
            return {**call, "momentum_buffer": state(), "momentum": 0.9}
        if name == "adam_step":
            return {**call, "exp_avg": state(), "exp_avg_sq": state(),
                    "max_exp_avg_sq": state(), "step": 3, "amsgrad": True}
        if name == "rmsprop_step":
            return {**call, "square_avg": state(), "grad_avg": state(),
                    "momentum_buffer": state(), "momentum": 0.5, "centered": True}
        return {**call, "state_sum": state(), "step": 2}
    return build


def _dropout(name):
    def build(rng):
        x = f32(rng, 3, 16)
        if name == "dropout_forward":
            return {"x": x, "p": 0.3, "seed": 1234}
        _, mask = reference.dropout_forward(x, 0.3, 1234)
        return {"grad_y": f32(rng, 3, 16), "mask": mask, "p": 0.3}
    return build


def _gemm(rng):
    return {"a": f32(rng, 5, 4), "b": f32(rng, 6, 4), "c": f32(rng, 5, 6), "alpha": 1.5,
            "beta": 0.5, "trans_b": True}


def _gemm_batched(rng):
    # a's batch (2, 3) against b's (3,): the fuzzer mutates a broadcast batch too.
    return {"a": f32(rng, 2, 3, 5, 4), "b": f32(rng, 3, 6, 4), "c": f32(rng, 2, 3, 5, 6),
            "alpha": 1.5, "beta": 0.5, "trans_b": True}


_RECURRENT_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _recurrent(name):
    kind, cell = name.split("_")[0], "_cell_" in name
    gates = _RECURRENT_GATES[kind]

    def build(rng):
        n, f, h, t = 3, 4, 5, 3
        x = f32(rng, n, f) if cell else f32(rng, t, n, f)
        weights = {"w_ih": f32(rng, gates * h, f), "w_hh": f32(rng, gates * h, h),
                   "b_ih": f32(rng, gates * h), "b_hh": f32(rng, gates * h)}
        states = {"h0": f32(rng, n, h)} if not cell else {"h": f32(rng, n, h)}
        if kind == "lstm":
            states["c0" if not cell else "c"] = f32(rng, n, h)
        forward_name = f"{kind}_cell_forward" if cell else f"{kind}_forward"
        forward = {"x": x, **states, **weights}
        if name == forward_name:
            return forward
        result = getattr(reference, forward_name)(**forward)
        return _recurrent_backward(rng, kind, cell, forward, result)
    return build


def _recurrent_backward(rng, kind, cell, forward, result):
    first = result if not isinstance(result, tuple) else result[0]
    grads = {"grad_h_new": f32(rng, *first.shape)} if cell else {
        "grad_output": f32(rng, *first.shape), "grad_h_n": f32(rng, *result[1].shape)}
    if kind == "lstm":
        grads["grad_c_new" if cell else "grad_c_n"] = f32(rng, *forward["x"].shape[-2:-1],
                                                          first.shape[-1])
    call = {**grads, **forward}
    if not cell:
        call["saved"] = result[-1]
    elif kind == "rnn":
        call["h_new"] = result
    elif kind == "lstm":
        call["c_new"], call["gates"] = result[1], result[2]
    else:
        call["saved"] = result[1]
    return call


def _builders():
    table = {"gemm": _gemm, "gemm_batched": _gemm_batched, "relu_forward": _out, "leaky_relu_forward": _out}
    for name in PUBLIC:
        family = name.split("_")[0]
        if name in table:
            continue
        if family in ("relu", "leaky", "sigmoid", "tanh", "gelu", "softmax", "log"):
            table[name] = _activation(name)
        elif family in ("mse", "bce"):
            table[name] = _pair_loss(name, positive=name.startswith("bce_f") or
                                     name.startswith("bce_b"))
        elif family in ("cross", "nll"):
            table[name] = _class_loss(name)
        elif name.startswith("conv2d_relu"):
            table[name] = _conv_pool(name)
        elif family == "conv2d":
            table[name] = _conv(name)
        elif name.startswith("max_pool"):
            table[name] = _max_pool(name)
        elif name.startswith("avg_pool"):
            table[name] = _avg_pool(name)
        elif name.startswith("global"):
            table[name] = _global_pool(name)
        elif family == "batch":
            table[name] = _batch_norm(name)
        elif name.endswith("_step"):
            table[name] = _optim(name)
        elif family == "dropout":
            table[name] = _dropout(name)
        elif family in ("layer", "group"):
            table[name] = _row_norm(name)
        elif family == "embedding":
            table[name] = _embedding(name)
        elif family == "masked":
            table[name] = _masked_softmax(name)
        elif family in _RECURRENT_GATES:
            table[name] = _recurrent(name)
    return table


BUILDERS = _builders()
