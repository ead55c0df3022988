import math

import torch

from impkit.model import FCN


def test_uniform_init_matches_nn_linear_bounds():
    m = FCN([50, 30, 4], replicas=2, init="uniform", seeds=[0, 1])
    for w, b in zip(m.weights, m.biases):
        bound = 1 / math.sqrt(w.shape[2])
        assert w.abs().max() <= bound and b.abs().max() <= bound
        assert w.abs().max() > 0.9 * bound
    assert not torch.equal(m.weights[0][0], m.weights[0][1])  # different seeds
    m2 = FCN([50, 30, 4], replicas=1, seeds=[1])
    assert torch.equal(m2.weights[0][0], m.weights[0][1])  # replica = lone network with its seed


def test_glorot_normal_zero_bias():
    m = FCN([400, 300, 10], replicas=1, init="glorot_normal", seeds=[0])
    assert all((b == 0).all() for b in m.biases)
    std = m.weights[0].std().item()
    assert abs(std - math.sqrt(2 / 700)) < 0.05 * math.sqrt(2 / 700)


def test_batched_forward_equals_single_and_masks():
    torch.manual_seed(0)
    m = FCN([16, 8, 3], replicas=3, seeds=[0, 1, 2], input_bn=True)
    masks = [torch.rand(3, 8, 16) > 0.5, torch.rand(3, 3, 8) > 0.3]
    m.set_masks(masks)
    assert all(((w == 0) | mk).all() for w, mk in zip(m.weights, masks))
    x = torch.randn(3, 5, 16)
    m.eval()
    out = m(x)
    for r in range(3):
        single = m.extract(r).eval()
        assert torch.allclose(single(x[r:r + 1]), out[r:r + 1], atol=1e-6)
    # masked and unmasked forward agree because pruned weights are zero
    assert torch.equal(m(x, masked=False), out)


def test_preactivations_and_input_transform():
    m = FCN([6, 4, 2], replicas=1, seeds=[0])
    x = torch.randn(10, 6)
    lam = m.first_layer_preactivations(x)[0]
    ref = x @ (m.weights[0][0] * m.mask(0)[0]).T + m.biases[0][0]
    assert torch.allclose(lam, ref, atol=1e-6)
    assert torch.equal(m.first_layer_input(x)[0], x)
    bn = FCN([6, 4, 2], replicas=1, seeds=[0], input_bn=True)
    bn.bn_mean_0.fill_(1.0)
    bn.bn_var_0.fill_(4.0)
    z = bn.first_layer_input(x)[0]
    assert torch.allclose(z, (x - 1) / torch.sqrt(torch.tensor(4.0 + 1e-5)), atol=1e-6)


def test_replica_state_round_trip():
    m = FCN([5, 4, 2], replicas=2, seeds=[3, 4], input_bn=True)
    st = m.replica_state(1)
    m2 = FCN([5, 4, 2], replicas=1, seeds=[9], input_bn=True)
    m2.load_replica_state(0, st)
    for k, v in m2.replica_state(0).items():
        assert torch.equal(v, st[k]), k


def test_batched_linear_gradients_match_autograd():
    from impkit.model import batched_linear

    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 5, 7, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 4, 7, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(batched_linear, (h, w, b))
    out = batched_linear(h, w, b)
    ref = torch.stack([h[r] @ w[r].T + b[r] for r in range(3)])
    assert torch.allclose(out, ref)
    gw = torch.autograd.grad(out.sum(), w)[0]
    assert gw.is_contiguous()
