"""Fuzz cases over the frontend: nn module constructors and forward calls, F.* functionals,
Tensor ops, optimizers (constructor and step), and hpnn.load on mutated checkpoint bytes.
Judged on crashes, exception types and bad-by-construction input (no reference twin here).
A case is (target, item, variant, seed); `run_*` rebuild and make the call from it."""
import io
import os
import tempfile
import zipfile

import numpy as np
from hypothesis import strategies as st

import hpnn
from hpnn import nn, optim
from hpnn.nn import functional as F

from fuzz_mutations import BAD_SCALARS, pick
from fuzz_oracle import ALLOWED

BAD_SIZES = [0, -1, -2 ** 31, 2 ** 62, 1.5, None, "3", (2, 2), float("nan"), True]


def _tensor(rng, *shape, dtype=np.float32):
    return hpnn.tensor(rng.standard_normal(shape).astype(dtype))


# Constructors: (factory of a bad size, whether a non-positive size is bad by construction).
CONSTRUCTORS = {
    "Linear": lambda v: nn.Linear(v, 3), "Conv2d.in": lambda v: nn.Conv2d(v, 4, 3),
    "Conv2d.kernel": lambda v: nn.Conv2d(3, 4, kernel_size=v),
    "Conv2d.stride": lambda v: nn.Conv2d(3, 4, 3, stride=v),
    "Conv2d.dilation": lambda v: nn.Conv2d(3, 4, 3, dilation=v),
    "Conv2d.groups": lambda v: nn.Conv2d(4, 4, 3, groups=v),
    "Conv2d.padding": lambda v: nn.Conv2d(3, 4, 3, padding=v),
    "BatchNorm2d": lambda v: nn.BatchNorm2d(v), "BatchNorm1d.eps": lambda v: nn.BatchNorm1d(3, eps=v),
    "LSTM.hidden": lambda v: nn.LSTM(3, v), "GRU.layers": lambda v: nn.GRU(3, 4, num_layers=v),
    "RNN.input": lambda v: nn.RNN(v, 4), "LSTMCell": lambda v: nn.LSTMCell(3, v),
    "Dropout": lambda v: nn.Dropout(v), "MaxPool2d": lambda v: nn.MaxPool2d(v),
    "AvgPool2d": lambda v: nn.AvgPool2d(v), "AvgPool2d.stride": lambda v: nn.AvgPool2d(2, v),
    "LeakyReLU": lambda v: nn.LeakyReLU(v), "Softmax": lambda v: nn.Softmax(dim=v),
    "AdaptiveAvgPool2d": lambda v: nn.AdaptiveAvgPool2d(v), "Flatten": lambda v: nn.Flatten(v),
}
# Non-positive values bad by construction (PyTorch raises for each).
POSITIVE = ("Conv2d.kernel", "Conv2d.stride", "Conv2d.dilation", "Conv2d.groups", "LSTM.hidden",
            "RNN.input", "LSTMCell", "MaxPool2d", "AvgPool2d", "GRU.layers")
# Negative values bad by construction. The others take negative values as PyTorch does:
# LeakyReLU's slope, Softmax's and Flatten's dims (counted from the end, checked on call).
NON_NEGATIVE = POSITIVE + ("Linear", "Conv2d.in", "Conv2d.padding", "BatchNorm2d", "Dropout")


def _constructor_case(item, variant, rng):
    value = pick(BAD_SIZES, variant)
    bad = (isinstance(value, (int, float)) and not isinstance(value, bool)
           and ((value < 0 and item in NON_NEGATIVE) or (value == 0 and item in POSITIVE)))
    bad = bad or (isinstance(value, str) and item in POSITIVE + ("Linear", "BatchNorm2d"))
    return (lambda: CONSTRUCTORS[item](value)), bad, f"nn.{item} with {value!r}"


def _modules(rng):
    return {
        "Linear": (nn.Linear(4, 3), (2, 4)), "Conv2d": (nn.Conv2d(3, 4, 3), (2, 3, 6, 6)),
        "BatchNorm2d": (nn.BatchNorm2d(3), (2, 3, 4, 4)), "MaxPool2d": (nn.MaxPool2d(2), (1, 2, 4, 4)),
        "LSTM": (nn.LSTM(3, 4), (5, 2, 3)), "GRU": (nn.GRU(3, 4), (5, 2, 3)),
        "RNNCell": (nn.RNNCell(3, 4), (2, 3)), "Softmax": (nn.Softmax(dim=1), (2, 3)),
        "AvgPool2d": (nn.AvgPool2d(2), (1, 2, 4, 4)), "Dropout": (nn.Dropout(0.5), (3, 4)),
    }


def _module_call_case(item, variant, rng):
    module, shape = _modules(rng)[item]
    x = rng.standard_normal(shape).astype(np.float32)
    kind = variant % 8
    if kind == 0:
        return (lambda: module(x)), True, f"{item}(numpy array)"
    if kind == 1:
        return (lambda: module(x.tolist())), True, f"{item}(list)"
    if kind == 2:
        return (lambda: module(None)), True, f"{item}(None)"
    if kind == 3:
        bad = hpnn.tensor(rng.standard_normal(shape[:-1] + (shape[-1] + 3,)).astype(np.float32))
        fixed = item in ("Linear", "LSTM", "GRU", "RNNCell")  # feature dimension last
        return (lambda: module(bad)), fixed, f"{item}(last dim {shape[-1] + 3})"
    if kind == 4:
        bad = hpnn.tensor(x[None, None])
        # Linear, Softmax and Dropout take any rank (PyTorch's too)
        return (lambda: module(bad)), item not in ("Linear", "Softmax", "Dropout"), \
            f"{item}(rank +2)"
    if kind == 5 and item in ("LSTM", "GRU"):
        h = hpnn.tensor(np.zeros((1, 2, 4), np.float32))
        state = pick([(h,), (h, h, h), h if item == "LSTM" else (h, h), "h", 3], variant // 8)
        return (lambda: module(hpnn.tensor(x), state)), True, f"{item}(x, {state!r:.40})"
    if kind == 6:
        bad = hpnn.tensor(x.astype(np.float64))
        return (lambda: module(bad)), False, f"{item}(float64 tensor)"
    empty = hpnn.tensor(np.zeros((0,) + shape[1:], np.float32))
    return (lambda: module(empty)), False, f"{item}(empty batch)"


def _functional_case(item, variant, rng):
    x = _tensor(rng, 2, 3, 6, 6)
    w = _tensor(rng, 4, 3, 3, 3)
    value = pick(BAD_SIZES + BAD_SCALARS, variant)
    calls = {
        "conv2d.stride": lambda: F.conv2d(x, w, stride=value),
        "conv2d.padding": lambda: F.conv2d(x, w, padding=value),
        "conv2d.groups": lambda: F.conv2d(x, w, groups=value),
        "max_pool2d": lambda: F.max_pool2d(x, value),
        "avg_pool2d": lambda: F.avg_pool2d(x, 2, stride=value),
        "softmax": lambda: F.softmax(x, dim=value), "dropout": lambda: F.dropout(x, p=value),
        "leaky_relu": lambda: F.leaky_relu(x, value),
        "cross_entropy": lambda: F.cross_entropy(_tensor(rng, 4, 5), hpnn.tensor(
            np.array([0, 1, 2, value if isinstance(value, int) else 9]))),
        "pad": lambda: F.pad(x, (value, 1)), "mse_loss": lambda: F.mse_loss(x, value),
        "linear": lambda: F.linear(_tensor(rng, 2, 4), _tensor(rng, 3, 5)),
    }
    bad = item == "linear" or (isinstance(value, int) and not isinstance(value, bool) and value < 0
                               and item in ("conv2d.stride", "conv2d.padding", "max_pool2d",
                                            "avg_pool2d"))
    return calls[item], bad, f"F.{item} with {value!r}"


def _tensor_case(item, variant, rng):
    t = _tensor(rng, 3, 4)
    leaf = hpnn.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    value = pick(BAD_SIZES + BAD_SCALARS + [(2 ** 40, 2 ** 40), (-1, -1), 99, -99], variant)
    calls = {
        "add": lambda: t + value, "matmul": lambda: t @ _tensor(rng, 5, 2),
        "reshape": lambda: t.reshape(value), "sum": lambda: t.sum(dim=value),
        "getitem": lambda: t[value], "transpose": lambda: t.transpose(value, 0),
        "view": lambda: t.view(value), "cat": lambda: hpnn.cat([t, _tensor(rng, 2, 5)]),
        "pow": lambda: t ** value, "backward": lambda: (leaf * 2).sum().backward(value),
    }
    bad = item in ("matmul", "cat")
    return calls[item], bad, f"Tensor.{item} with {value!r:.60}"


def _optimizer_case(item, variant, rng):
    params = [nn.Parameter(_tensor(rng, 3, 4)), nn.Parameter(_tensor(rng, 4))]
    value = pick(BAD_SCALARS + [(2.0, 0.5), (0.9, -1.0), (0.9,)], variant)
    if variant % 5 == 4:  # a bad gradient on a good optimizer
        grad = pick([np.zeros((3, 4), np.float64), np.zeros((4, 3), np.float32), None,
                     np.zeros((3, 4), np.float32)[:, ::-1]], variant // 5)
        opt = {"SGD": optim.SGD, "Adam": optim.Adam, "AdamW": optim.AdamW,
               "RMSprop": optim.RMSprop, "Adagrad": optim.Adagrad}[item](params, lr=0.1)

        def step():
            params[0].grad = grad if grad is None else hpnn.tensor(grad)
            opt.step()
        return step, False, f"{item}.step with grad {getattr(grad, 'shape', None)}"
    option = {"SGD": "momentum", "Adam": "betas", "AdamW": "weight_decay", "RMSprop": "alpha",
              "Adagrad": "lr_decay"}[item]
    negative = isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0
    factory = getattr(optim, item)
    if variant % 2:
        return (lambda: factory(params, lr=value)), negative, f"{item}(lr={value!r})"
    return (lambda: factory(params, lr=0.1, **{option: value})), \
        negative and option != "betas", f"{item}({option}={value!r})"


_CHECKPOINT = {}


def _checkpoint_bytes():
    if "bytes" not in _CHECKPOINT:
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.pt")
            hpnn.save({"model": model.state_dict(), "epoch": 3, "note": "x"}, path)
            with open(path, "rb") as f:
                _CHECKPOINT["bytes"] = f.read()
    return _CHECKPOINT["bytes"]


def _rezip(data, member, transform):
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            target.writestr(info.filename, transform(body) if info.filename == member else body)
    return out.getvalue()


def _mutated_checkpoint(variant, rng):
    data = bytearray(_checkpoint_bytes())
    kind = variant % 5
    if kind == 0:  # random byte flips
        for i in rng.integers(0, len(data), 1 + variant // 5 % 8):
            data[i] = int(rng.integers(0, 256))
        return bytes(data), "byte flips"
    if kind == 1:
        cut = int(rng.integers(0, len(data)))
        return bytes(data[:cut]), f"truncated at {cut}"
    names = zipfile.ZipFile(io.BytesIO(bytes(data))).namelist()
    member = names[variant // 5 % len(names)]
    if kind == 2:  # flip bytes inside one member (its header, shape or payload)
        def flip(body):
            body = bytearray(body)
            for i in rng.integers(0, max(len(body), 1), 3):
                body[i % max(len(body), 1)] = int(rng.integers(0, 256)) if body else 0
            return bytes(body)
        return _rezip(bytes(data), member, flip), f"bytes of {member} flipped"
    if kind == 3:  # the metadata replaced by hostile JSON
        meta = pick(['{"format": "hpnn-checkpoint", "version": 1}', "[" * 100000 + "]" * 100000,
                     '{"format": "hpnn-checkpoint", "version": 1, "object": {"__array__": 5}}',
                     '{"format": "hpnn-checkpoint", "version": "1", "object": 1}',
                     '{"format": "hpnn-checkpoint", "version": 1, "object": {"__dict__": 3}}',
                     '{"format": "hpnn-checkpoint", "version": 1, "object": {"__tensor__": "a0"'
                     ', "x": 1}}'], variant // 5)
        return _rezip(bytes(data), "__meta__.npy", lambda body: _npy_bytes(meta)), \
            f"metadata {meta[:60]!r}"
    shape = pick([(2 ** 40,), (2 ** 20, 2 ** 20), (-1,), (2 ** 62, 4)], variant // 5)
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
    header["shape"] = shape
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, header)
    return _rezip(bytes(data), member, lambda body: stream.getvalue() + body[128:]), \
        f"{member} declares shape {shape}"


def _npy_bytes(text):
    stream = io.BytesIO()
    np.save(stream, np.frombuffer(text.encode(), np.uint8))
    return stream.getvalue()


def _load_case(item, variant, rng):
    data, label = _mutated_checkpoint(variant, rng)

    def load():
        with tempfile.NamedTemporaryFile(suffix=".pt") as f:
            f.write(data)
            f.flush()
            return hpnn.load(f.name)
    return load, False, f"hpnn.load on {label}"


TARGETS = {
    "frontend": {"ctor": (_constructor_case, sorted(CONSTRUCTORS)),
                 "module": (_module_call_case, sorted(_modules(np.random.default_rng(0)))),
                 "functional": (_functional_case,
                                ["conv2d.stride", "conv2d.padding", "conv2d.groups",
                                 "max_pool2d", "avg_pool2d", "softmax", "dropout", "leaky_relu",
                                 "cross_entropy", "pad", "mse_loss", "linear"]),
                 "tensor": (_tensor_case, ["add", "matmul", "reshape", "sum", "getitem",
                                           "transpose", "view", "cat", "pow",
                                           "backward"]),
                 "optimizer": (_optimizer_case, ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])},
    "load": {"load": (_load_case, ["checkpoint"])},
}


def _strategy(target):
    def build():
        groups = TARGETS[target]
        return st.sampled_from(sorted(groups)).flatmap(lambda group: st.tuples(
            st.just(target), st.just(group), st.sampled_from(groups[group][1]),
            st.integers(0, 2 ** 16), st.integers(0, 2 ** 20)))
    return build


def run(case, log):
    target, group, item, variant, seed = case
    make, bad, label = TARGETS[target][group][0](item, variant, np.random.default_rng(seed))
    log(f"{target} {case!r} :: {label}")
    try:
        make()
    except ALLOWED:
        return None
    except BaseException as error:  # noqa: BLE001 - judged here
        if isinstance(error, KeyboardInterrupt):
            raise
        return f"{label}: unclean exception {type(error).__name__}: {str(error)[:150]}"
    return f"{label}: silent acceptance of bad input" if bad else None


STRATEGIES = {target: _strategy(target) for target in TARGETS}
RUNNERS = {target: run for target in TARGETS}
