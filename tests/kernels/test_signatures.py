"""One op, one name, one signature: every public function of hpnn.kernels has a numpy twin of
the same name in hpnn.reference, taking the same arguments with the same defaults."""
import inspect

from hpnn import kernels, reference

PUBLIC = sorted(name for name in dir(kernels)
                if not name.startswith("_") and inspect.isfunction(getattr(kernels, name)))


def test_every_kernel_has_a_reference_twin_with_its_signature():
    assert len(PUBLIC) > 40  # the list is real: gemm, conv, pool, activations, rnn, optim...
    for name in PUBLIC:
        assert hasattr(reference, name), f"hpnn.reference has no {name}"
        assert inspect.signature(getattr(kernels, name)) == \
            inspect.signature(getattr(reference, name)), name
