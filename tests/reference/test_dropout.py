import numpy as np
import pytest

from hpnn import reference as ref

from .gradcheck import check_vjp

MASK64 = 2**64 - 1


def _splitmix64_uniform(seed, index):
    """The documented hash, in plain Python integers."""
    z = (seed + (index + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    z ^= z >> 31
    return (z >> 40) / 2**24


@pytest.mark.parametrize("seed", [0, 1, 2**64 - 1, 123456789])
def test_uniforms_follow_the_documented_hash(seed):
    u = ref.dropout_uniforms((3, 5), seed)
    expected = [_splitmix64_uniform(seed, i) for i in range(15)]
    np.testing.assert_array_equal(u.reshape(-1), expected)


def test_first_splitmix64_output_for_seed_zero():
    # published first output of SplitMix64 seeded with 0: 0xE220A8397B1DCDAF
    assert ref.dropout_uniforms((1,), 0)[0] == (0xE220A8397B1DCDAF >> 40) / 2**24


def test_same_seed_same_mask_different_seed_different_mask():
    x = np.ones((64, 64), dtype=np.float32)
    _, mask_a = ref.dropout_forward(x, 0.5, seed=7)
    _, mask_b = ref.dropout_forward(x, 0.5, seed=7)
    _, mask_c = ref.dropout_forward(x, 0.5, seed=8)
    np.testing.assert_array_equal(mask_a, mask_b)
    assert np.mean(mask_a != mask_c) > 0.4
    assert mask_a.dtype == np.bool_


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_fraction_kept_and_scaling(p):
    x = np.random.default_rng(0).standard_normal((500, 400)).astype(np.float32)
    y, mask = ref.dropout_forward(x, p, seed=3)
    assert abs(mask.mean() - (1 - p)) < 4 * np.sqrt(p * (1 - p) / mask.size)
    np.testing.assert_allclose(y[mask], x[mask] / np.float32(1 - p), rtol=1e-6)
    assert np.all(y[~mask] == 0) and y.dtype == np.float32
    ones_dropped, _ = ref.dropout_forward(np.ones_like(x), p, seed=4)
    assert abs(ones_dropped.mean() - 1.0) < 4 * np.sqrt(p / (1 - p) / x.size)  # unbiased


def test_p_zero_is_identity():
    x = np.random.default_rng(1).standard_normal((4, 5))
    y, mask = ref.dropout_forward(x, 0.0, seed=1)
    np.testing.assert_array_equal(y, x)
    assert mask.all()


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 7))
    p = 0.3
    _, mask = ref.dropout_forward(x, p, seed=5)
    check_vjp(lambda: ref.dropout_forward(x, p, seed=5)[0],
              lambda g: ref.dropout_backward(g, mask, p), x, rng)


def test_bad_arguments_raise():
    x = np.zeros(4)
    for p in (1.0, -0.1):
        with pytest.raises(ValueError, match="p must"):
            ref.dropout_forward(x, p, seed=0)
    with pytest.raises(ValueError, match="seed"):
        ref.dropout_forward(x, 0.5, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        ref.dropout_forward(x, 0.5, seed=1.5)
    with pytest.raises(TypeError, match="mask"):
        ref.dropout_backward(x, np.ones(4), 0.5)
    with pytest.raises(ValueError, match="mask"):
        ref.dropout_backward(x, np.ones(3, dtype=bool), 0.5)
