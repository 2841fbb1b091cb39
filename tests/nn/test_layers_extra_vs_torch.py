"""Conv1d, ConvTranspose1d/2d, Upsample/interpolate, Dropout1d/2d, Unflatten and the vector
functions (one_hot, normalize, cosine_similarity, pairwise_distance, pad modes) against
PyTorch: same weights and inputs, outputs and every gradient; reprs and state-dict names;
finite differences in float64 for the vector norm's hand-written backward."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
import hpnn.nn.functional as F
from hpnn.functional.vector import VectorNorm
from reference.gradcheck import check_vjp

torch = pytest.importorskip("torch", reason="the parity tests need torch")


def _same_module(name, *args, **kwargs):
    torch.manual_seed(0)
    theirs, ours = getattr(torch.nn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    assert repr(ours).split("  # ")[0] == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _check(ours, theirs, inputs, rtol=1e-5, atol=1e-5, **call):
    """Run both on the same inputs with a random upstream gradient; compare the outputs and
    the gradients of the inputs and of every parameter."""
    xt = [torch.tensor(x, requires_grad=True) for x in inputs]
    xh = [hpnn.tensor(x, requires_grad=True) for x in inputs]
    yt, yh = theirs(*xt, **call), ours(*xh, **call)
    np.testing.assert_allclose(yh.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(9).standard_normal(tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.tensor(g))
    yh.backward(hpnn.tensor(g))
    for a, b in zip(xh, xt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    if isinstance(ours, nn.Module):
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=name)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


CONV1D = [
    ((3, 4, 3), {}), ((4, 6, 2), dict(stride=2, padding=1, dilation=2, groups=2, bias=False)),
    ((3, 4, 4), dict(padding="same")), ((3, 4, 3), dict(padding="valid")),
    ((3, 4, 3), dict(padding=2, padding_mode="reflect")),
    ((3, 4, 4), dict(padding="same", padding_mode="circular", dilation=2)),
    ((3, 4, 3), dict(padding=1, padding_mode="replicate", stride=3)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on a copy it makes
@pytest.mark.parametrize("args,kwargs", CONV1D, ids=str)
def test_conv1d_matches_torch(args, kwargs):
    ours, theirs = _same_module("Conv1d", *args, **kwargs)
    _check(ours, theirs, [_x(2, args[0], 9)])
    _check(ours, theirs, [_x(args[0], 9)])  # unbatched


TRANSPOSED = [
    ((3, 4, 3), {}), ((3, 4, 3), dict(stride=2, padding=1, output_padding=1)),
    ((4, 6, (3, 2)), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2,
                          dilation=(1, 2), bias=False)),
    ((2, 2, 3), dict(stride=1, dilation=3, output_padding=2)),  # output_padding >= stride
    ((2, 3, 4), dict(stride=4)),
]


@pytest.mark.parametrize("args,kwargs", TRANSPOSED, ids=str)
def test_conv_transpose2d_matches_torch(args, kwargs):
    ours, theirs = _same_module("ConvTranspose2d", *args, **kwargs)
    assert ours.weight.shape == (args[0], args[1] // kwargs.get("groups", 1),
                                 *np.broadcast_to(args[2], 2))
    _check(ours, theirs, [_x(2, args[0], 5, 4)])
    _check(ours, theirs, [_x(args[0], 5, 4)])


def test_conv_transpose_output_size_and_1d_match_torch():
    ours, theirs = _same_module("ConvTranspose2d", 2, 3, 3, stride=2, padding=1)
    _check(ours, theirs, [_x(1, 2, 4, 5)], output_size=(8, 10))
    with pytest.raises(ValueError, match="output_size"):
        ours(hpnn.zeros(1, 2, 4, 5), output_size=(12, 10))
    ours, theirs = _same_module("ConvTranspose1d", 4, 2, 3, stride=2, output_padding=1,
                                groups=2)
    _check(ours, theirs, [_x(2, 4, 6)])


INTERPOLATE = [
    dict(scale_factor=2), dict(size=(8, 11)), dict(scale_factor=1.7), dict(size=(3, 4)),
    dict(scale_factor=(2, 0.5)), dict(scale_factor=2, mode="bilinear"),
    dict(size=(8, 11), mode="bilinear", align_corners=True),
    dict(scale_factor=1.3, mode="bilinear"), dict(size=(9, 4), mode="bilinear"),
    dict(size=(1, 1), mode="bilinear", align_corners=True), dict(size=(2, 3), mode="area"),
    dict(scale_factor=1.6, mode="nearest-exact"), dict(scale_factor=1.2, mode="bilinear"),
]


@pytest.mark.parametrize("kwargs", INTERPOLATE, ids=str)
def test_interpolate_4d_matches_torch(kwargs):
    _check(F.interpolate, torch.nn.functional.interpolate, [_x(2, 3, 5, 7)], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(scale_factor=3), dict(size=11, mode="linear"),
                                    dict(size=4, mode="linear", align_corners=True),
                                    dict(size=3, mode="area")], ids=str)
def test_interpolate_3d_matches_torch(kwargs):
    _check(F.interpolate, torch.nn.functional.interpolate, [_x(2, 3, 7)], **kwargs)


@pytest.mark.parametrize("name,kwargs", [("Upsample", dict(scale_factor=2)),
                                         ("Upsample", dict(size=(6, 9), mode="bilinear")),
                                         ("UpsamplingNearest2d", dict(scale_factor=3)),
                                         ("UpsamplingBilinear2d", dict(size=(4, 4)))])
def test_upsample_modules_match_torch(name, kwargs):
    ours, theirs = _same_module(name, **kwargs)
    _check(ours, theirs, [_x(1, 2, 3, 5)])


@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D")  # the eval call warns again
@pytest.mark.parametrize("name,shape", [("Dropout2d", (4, 6, 3, 3)), ("Dropout1d", (4, 6, 5)),
                                        ("Dropout2d", (6, 3, 3))])
def test_channel_dropout_zeroes_whole_channels(name, shape):
    hpnn.manual_seed(0)
    layer = getattr(nn, name)(p=0.4)
    assert repr(layer) == repr(getattr(torch.nn, name)(p=0.4))
    x = hpnn.tensor(np.ones(shape, np.float32), requires_grad=True)
    if len(shape) == 3 and name == "Dropout2d":  # taken as (N, C, L), as PyTorch warns
        with pytest.warns(UserWarning, match="dropout1d"):
            y = layer(x)
    else:
        y = layer(x)
    lead = 2
    per_channel = y.numpy().reshape(int(np.prod(shape[:lead])), -1)
    assert all(len(set(row)) == 1 for row in per_channel)  # a channel is kept or dropped whole
    assert set(np.unique(per_channel)) <= {0.0, np.float32(1 / 0.6)}
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())
    layer.eval()
    assert layer(x) is x


def test_dropout2d_inplace_writes_input():
    hpnn.manual_seed(1)
    x = hpnn.tensor(np.ones((8, 4, 2, 2), np.float32))
    out = F.dropout2d(x, 0.5, inplace=True)
    assert out is x and (x.numpy() == 0).any() and (x.numpy() == 2).any()


def test_unflatten_matches_torch():
    for args in ((1, (2, 3)), (-1, (3, -1)), (0, [4])):
        ours, theirs = _same_module("Unflatten", *args)
        _check(ours, theirs, [_x(4, 6)])


def test_one_hot_matches_torch():
    labels = np.array([[0, 3], [2, 1]])
    for classes in (-1, 5):
        ours = F.one_hot(hpnn.tensor(labels), classes)
        theirs = torch.nn.functional.one_hot(torch.tensor(labels), classes)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match="tensor"):
        F.one_hot(hpnn.tensor(labels), 3)
    with pytest.raises(TypeError, match="tensor"):
        F.one_hot(hpnn.tensor([0.5]))


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, -1), (3.0, 0), (float("inf"), 1)])
def test_normalize_matches_torch(p, dim):
    x = _x(4, 5)
    x[1] = 0  # a zero row: clamped by eps
    _check(lambda t: F.normalize(t, p, dim), lambda t: torch.nn.functional.normalize(t, p, dim),
           [x])


def test_cosine_similarity_and_pairwise_distance_match_torch():
    _check(F.cosine_similarity, torch.nn.functional.cosine_similarity, [_x(4, 5), _x(4, 5, seed=1)])
    _check(lambda a, b: F.cosine_similarity(a, b, dim=-1),
           lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=-1),
           [_x(3, 1, 5), _x(1, 2, 5, seed=1)])
    for p in (2.0, 1.0, 3.0):
        _check(lambda a, b: F.pairwise_distance(a, b, p, keepdim=True),
               lambda a, b: torch.nn.functional.pairwise_distance(a, b, p, keepdim=True),
               [_x(4, 5), _x(4, 5, seed=1)])
    ours, theirs = _same_module("CosineSimilarity", dim=0)
    _check(ours, theirs, [_x(4, 5), _x(4, 5, seed=2)])
    ours, theirs = _same_module("PairwiseDistance", p=1.0)
    _check(ours, theirs, [_x(4, 5), _x(4, 5, seed=2)])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes_and_gradients_match_torch(mode):
    pad = (2, 1, 1, 2)
    _check(lambda t: F.pad(t, pad, mode), lambda t: torch.nn.functional.pad(t, pad, mode),
           [_x(2, 3, 4, 5)])
    _check(lambda t: F.pad(t, (1, 2), mode), lambda t: torch.nn.functional.pad(t, (1, 2), mode),
           [_x(2, 3, 5)])


@pytest.mark.parametrize("call,exc,argument", [
    (lambda: nn.Conv1d(3, 4, 0), ValueError, "kernel_size"),
    (lambda: nn.Conv1d(3, 4, 3, stride=2, padding="same"), ValueError, "same"),
    (lambda: nn.Conv1d(3, 4, 3, padding_mode="mirror"), ValueError, "padding_mode"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2), ValueError,
     "output_padding"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"), ValueError, "padding_mode"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), ValueError, "groups"),
    (lambda: nn.Upsample(), ValueError, "size"),
    (lambda: nn.Upsample(scale_factor=2, mode="cubic"), ValueError, "mode"),
    (lambda: F.interpolate(hpnn.zeros(1, 1, 2, 2), scale_factor=2, mode="linear"), ValueError,
     "mode"),
    (lambda: F.interpolate(hpnn.zeros(1, 1, 2, 2), size=(2, 2, 2)), ValueError, "size"),
    (lambda: F.dropout2d(hpnn.zeros(1, 1, 2, 2), p=2), ValueError, "'p'"),
    (lambda: nn.Unflatten(1, 3), TypeError, "unflattened_size"),
    (lambda: F.normalize(hpnn.zeros(2, 2), p=0), ValueError, "'p'"),
])
def test_bad_arguments_name_the_argument(call, exc, argument):
    with pytest.raises(exc, match=argument):
        call()


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 1.5])
def test_vector_norm_gradient_matches_finite_differences_in_float64(p):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4)) + 0.1

    def backward(g):
        fn = VectorNorm()
        fn.forward(x, p=p, dim=1)
        return fn.backward(g)

    check_vjp(lambda: VectorNorm().forward(x, p=p, dim=1), backward, x, rng)


PAD_AND_SHUFFLE = [
    ("ZeroPad2d", (1,), (2, 3, 4, 5)), ("ZeroPad1d", ((2, 0),), (2, 3, 5)),
    ("ConstantPad2d", ((1, 0, 2, 1), -1.5), (2, 3, 4, 5)), ("ConstantPad1d", (2, 3.5), (3, 5)),
    ("ReflectionPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)), ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReplicationPad2d", (2,), (2, 3, 4, 5)), ("ReplicationPad1d", ((0, 3),), (2, 3, 5)),
    ("CircularPad2d", (1,), (2, 3, 4, 5)), ("CircularPad1d", (2,), (2, 3, 5)),
    ("PixelShuffle", (2,), (2, 8, 3, 4)), ("PixelShuffle", (3,), (9, 2, 2)),
    ("PixelUnshuffle", (2,), (2, 3, 4, 6)), ("Softmax2d", (), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("name,args,shape", PAD_AND_SHUFFLE, ids=str)
def test_padding_shuffle_and_softmax2d_modules_match_torch(name, args, shape):
    ours, theirs = _same_module(name, *args)
    _check(ours, theirs, [_x(*shape)])


def test_pixel_shuffle_arguments_are_checked():
    with pytest.raises(ValueError, match="upscale_factor"):
        F.pixel_shuffle(hpnn.zeros(1, 6, 2, 2), 2)
    with pytest.raises(ValueError, match="upscale_factor"):
        nn.PixelShuffle(0)
    with pytest.raises(TypeError, match="padding"):
        nn.ReflectionPad2d((1, 2))
