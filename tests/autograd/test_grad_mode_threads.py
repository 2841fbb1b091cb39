"""Grad mode and the backend are per thread (as PyTorch's grad mode): one thread's no_grad or
set_backend never changes what another thread does. Threads meet at barriers so every
interleaving below happens in the stated order on every run."""
import threading

import numpy as np
import pytest

import hpnn

TIMEOUT = 30  # seconds a barrier waits before failing the test instead of hanging it


def _run_threads(*targets):
    """Run each target in its own thread; re-raise the first exception any of them raised."""
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as error:  # noqa: BLE001 (handed to the main thread)
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]


def _graph_and_backward():
    x = hpnn.tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    y = (x * x).sum()
    assert y.requires_grad, "grad mode leaked in from another thread"
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_no_grad_in_one_thread_leaves_another_recording():
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def inside_no_grad():
        with hpnn.no_grad():
            barrier.wait()  # 1: B may compute now
            barrier.wait()  # 2: B is done
            assert not hpnn.is_grad_enabled()

    def computes_graph():
        barrier.wait()  # 1: A is inside no_grad
        assert hpnn.is_grad_enabled()
        _graph_and_backward()
        barrier.wait()  # 2

    _run_threads(inside_no_grad, computes_graph)
    assert hpnn.is_grad_enabled()


def test_interleaved_blocks_do_not_leave_grad_off():
    """A enters no_grad, B enters enable_grad, A leaves, B leaves: with one process-wide mode,
    B's exit restored the 'off' it had seen on entry, and grad stayed off for good."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def thread_a():
        with hpnn.no_grad():
            barrier.wait()  # 1: A inside
            barrier.wait()  # 2: B inside
        barrier.wait()  # 3: A left
        barrier.wait()  # 4: B left

    def thread_b():
        barrier.wait()  # 1
        with hpnn.enable_grad():
            barrier.wait()  # 2
            barrier.wait()  # 3
        barrier.wait()  # 4

    _run_threads(thread_a, thread_b)
    assert hpnn.is_grad_enabled()
    _graph_and_backward()


def test_one_no_grad_object_shared_by_two_threads():
    shared = hpnn.no_grad()
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def enters_first():
        with shared:
            barrier.wait()  # 1
            barrier.wait()  # 2: the other thread entered
        barrier.wait()  # 3
        assert hpnn.is_grad_enabled()

    def enters_second():
        barrier.wait()  # 1
        with hpnn.enable_grad():
            pass
        hpnn.set_grad_enabled(False)
        with shared:
            barrier.wait()  # 2
            barrier.wait()  # 3: the first left
        assert not hpnn.is_grad_enabled()  # restored to this thread's own previous mode
        hpnn.set_grad_enabled(True)

    _run_threads(enters_first, enters_second)


def test_new_thread_starts_with_grad_enabled():
    seen = []
    with hpnn.no_grad():
        _run_threads(lambda: seen.append(hpnn.is_grad_enabled()))
    assert seen == [True]  # as PyTorch: grad mode is not inherited by a new thread


def test_backend_is_per_thread():
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    seen = {}

    def on_numpy():
        with hpnn.use_backend("numpy"):
            barrier.wait()  # 1
            barrier.wait()  # 2
            seen["numpy thread"] = hpnn.get_backend(), hpnn.backend.kernel("relu_forward")

    def on_default():
        barrier.wait()  # 1: the other thread switched
        seen["default thread"] = hpnn.get_backend(), hpnn.backend.kernel("relu_forward")
        barrier.wait()  # 2

    _run_threads(on_numpy, on_default)
    assert seen["numpy thread"] == ("numpy", hpnn.reference.relu_forward)
    assert seen["default thread"][0] == "native"
    assert seen["default thread"][1] is not hpnn.reference.relu_forward
    assert hpnn.get_backend() == "native"


def test_new_thread_starts_on_native_backend():
    seen = []
    with hpnn.use_backend("numpy"):
        _run_threads(lambda: seen.append(hpnn.get_backend()))
    assert seen == ["native"]


def test_set_grad_enabled_function_and_context_manager():
    assert hpnn.is_grad_enabled()
    hpnn.set_grad_enabled(False)
    try:
        assert not hpnn.is_grad_enabled()
        with hpnn.set_grad_enabled(True):
            assert hpnn.is_grad_enabled()
        assert not hpnn.is_grad_enabled()
    finally:
        hpnn.set_grad_enabled(True)
    with hpnn.set_grad_enabled(False):
        x = hpnn.tensor([1.0], requires_grad=True)
        assert not (x * 2).requires_grad
    assert hpnn.is_grad_enabled()


def test_set_grad_enabled_as_decorator_switches_only_inside():
    @hpnn.set_grad_enabled(False)
    def inside():
        return hpnn.is_grad_enabled()

    assert hpnn.is_grad_enabled()  # decorating did not switch
    assert inside() is False
    assert hpnn.is_grad_enabled()


def test_set_grad_enabled_rejects_non_bool():
    with pytest.raises(TypeError, match="mode"):
        hpnn.set_grad_enabled("no")
    assert hpnn.is_grad_enabled()


@pytest.mark.parametrize("bare", [True, False], ids=["bare", "called"])
def test_inference_mode_and_no_grad_decorators(bare):
    def probe():
        return hpnn.is_grad_enabled(), hpnn.is_inference_mode_enabled()

    inference = hpnn.inference_mode(probe) if bare else hpnn.inference_mode()(probe)
    no_grad = hpnn.no_grad(probe) if bare else hpnn.no_grad()(probe)
    assert inference() == (False, True)
    assert no_grad() == (False, False)
    assert probe() == (True, False)


def test_inference_mode_false_changes_nothing():
    with hpnn.inference_mode(False):
        assert hpnn.is_grad_enabled() and not hpnn.is_inference_mode_enabled()
    with hpnn.inference_mode():
        x = hpnn.tensor([1.0], requires_grad=True)
        assert not (x * 2).requires_grad
    assert hpnn.is_grad_enabled()


def test_grad_mode_vs_torch_in_new_thread():
    torch = pytest.importorskip("torch")
    seen = []
    with torch.no_grad(), hpnn.no_grad():
        _run_threads(lambda: seen.append((torch.is_grad_enabled(), hpnn.is_grad_enabled())))
    assert seen == [(True, True)]
