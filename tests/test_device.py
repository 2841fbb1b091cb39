"""hpnn.device, .to()/.cpu() on tensors and modules, and the CPU-only device namespaces,
against torch where torch is installed."""
import pickle

import numpy as np
import pytest

import hpnn
from hpnn import DeviceError

try:
    import torch
except ImportError:  # the parity checks below skip; the hpnn-only ones still run
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed: no parity "
                                                       "oracle for hpnn.device")

SPELLINGS = [("cpu",), ("cpu:0",), ("cpu", 0), ("cuda",), ("cuda:1",), ("mps",), ("cuda", 2)]


@needs_torch
@pytest.mark.parametrize("args", SPELLINGS)
def test_device_objects_match_torch(args):
    ours, theirs = hpnn.device(*args), torch.device(*args)
    assert (str(ours), repr(ours), ours.type, ours.index) == \
        (str(theirs), repr(theirs), theirs.type, theirs.index)
    assert hpnn.device(ours) == ours and hash(hpnn.device(ours)) == hash(ours)
    assert pickle.loads(pickle.dumps(ours)) == ours


@needs_torch
def test_device_equality_and_bad_strings_match_torch():
    pairs = [("cpu", "cpu"), ("cpu", "cpu:0"), ("cpu", "cuda"), ("cuda:0", "cuda:0")]
    for a, b in pairs:
        assert (hpnn.device(a) == hpnn.device(b)) == (torch.device(a) == torch.device(b))
    assert (hpnn.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")
    for bad in ("foo", "cpu:x", "cpu:-1", "cuda:0:1", " cpu", "CPU"):
        with pytest.raises(RuntimeError):
            torch.device(bad)
        with pytest.raises(RuntimeError, match="device"):  # DeviceError: also a ValueError
            hpnn.device(bad)
    with pytest.raises(TypeError):
        hpnn.device(1.5)
    for index in (0, 2):  # an int names an accelerator device: there is none
        with pytest.raises(RuntimeError):
            torch.device(index)
        with pytest.raises(RuntimeError, match="accelerator"):
            hpnn.device(index)


def test_tensors_stay_on_the_cpu():
    x = hpnn.randn(2, 3)
    cpu = hpnn.device("cpu")
    assert x.device == cpu and not x.is_cuda and x.cpu() is x
    for target in ("cpu", "cpu:0", cpu, hpnn.device("cpu", 0)):
        assert x.to(target) is x
        assert x.to(target, non_blocking=True) is x and x.to(device=target) is x
    assert x.to(hpnn.zeros(1)) is x and x.to(np.float32) is x
    copied = x.to("cpu", copy=True)
    assert copied is not x and np.array_equal(copied.numpy(), x.numpy())
    labels = hpnn.tensor([1, 2])
    assert labels.to(cpu).dtype == np.int64 and labels.to(np.float32).dtype == np.float32
    assert labels.to(x).dtype == np.float32 and x.to("cpu", np.int64).dtype == np.int64


@pytest.mark.parametrize("where", ["cuda", "cuda:0", "mps", "xpu", "cpu:1"])
def test_other_devices_raise_naming_the_device(where):
    x, model = hpnn.randn(2), hpnn.nn.Linear(2, 2)
    name = str(hpnn.device(where))
    for move in (lambda: x.to(where), lambda: x.to(device=where), lambda: model.to(where),
                 lambda: model.to(hpnn.device(where))):
        with pytest.raises(DeviceError, match=name):
            move()
    assert issubclass(DeviceError, RuntimeError) and issubclass(DeviceError, ValueError)


def test_cuda_methods_raise():
    with pytest.raises(RuntimeError, match="cuda"):
        hpnn.zeros(2).cuda()
    with pytest.raises(RuntimeError, match="cuda:1"):
        hpnn.nn.Linear(2, 2).cuda(1)


def test_dtype_conversions_and_unsupported_dtypes():
    x = hpnn.zeros(2)
    assert x.to(np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="int64"):
        hpnn.nn.Linear(2, 2).to(np.int64)
    layer = hpnn.nn.Linear(2, 2)
    assert layer.to("cpu", np.float16) is layer and layer.weight.dtype == np.float16
    with pytest.raises(TypeError, match="unexpected"):
        x.to("cpu", np.float32, False, False, 7)


def test_modules_move_as_themselves():
    model = hpnn.nn.Sequential(hpnn.nn.Linear(3, 2), hpnn.nn.ReLU())
    weights = [p.numpy().copy() for p in model.parameters()]
    params = list(model.parameters())
    assert model.to(hpnn.device("cpu")) is model and model.cpu() is model
    assert model.to("cpu", np.float32) is model and model.to(np.float32) is model
    assert model.to(hpnn.zeros(1)) is model and model.to(device="cpu:0") is model
    assert all(a is b for a, b in zip(params, model.parameters()))
    assert all(np.array_equal(w, p.numpy()) for w, p in zip(weights, model.parameters()))
    assert all(p.device == hpnn.device("cpu") for p in model.parameters())


def test_no_accelerator_is_reported():
    assert hpnn.cuda.is_available() is False and hpnn.cuda.device_count() == 0
    hpnn.cuda.manual_seed(1)
    hpnn.cuda.manual_seed_all(1)
    assert hpnn.backends.mps.is_available() is False
    assert hpnn.accelerator.is_available() is False
    assert hpnn.accelerator.current_accelerator() is None
    hpnn.backends.cudnn.deterministic = True  # a script's setting; changes nothing


@needs_torch
def test_namespaces_answer_as_torch_does_without_an_accelerator():
    assert hpnn.cuda.is_available() == torch.cuda.is_available()
    assert hpnn.backends.mps.is_available() == torch.backends.mps.is_available()
    assert hpnn.accelerator.is_available() == torch.accelerator.is_available()


def test_generator_is_cpu_only_and_seeds_repeatably():
    a = hpnn.Generator().manual_seed(7)
    b = hpnn.Generator("cpu").manual_seed(7)
    assert a.initial_seed() == 7 and a.device == hpnn.device("cpu")
    state = a.get_state()
    first = list(hpnn.utils.data.RandomSampler(range(20), generator=a))
    assert first == list(hpnn.utils.data.RandomSampler(range(20), generator=b))
    a.set_state(state)
    assert first == list(hpnn.utils.data.RandomSampler(range(20), generator=a))
    with pytest.raises(DeviceError, match="cuda"):
        hpnn.Generator("cuda")
    with pytest.raises(TypeError, match="seed"):
        a.manual_seed(1.5)
