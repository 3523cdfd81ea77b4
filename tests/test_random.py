"""Random draws as keyed ops: reproducible streams, independent generators, distributions, and the state
change (``rng_advance``) that every draw makes visible to an interceptor."""

import numpy as np
import pytest

import tessera as ts
from tessera.core.dispatch import intercept


def test_manual_seed_reproduces_and_seeds_differ():
    draws = []
    for seed in (0, 0, 1):
        ts.manual_seed(seed)
        draws.append(
            np.concatenate([ts.rand(5).numpy(), ts.randn(5).numpy(), ts.randint(0, 100, (5,)).numpy()])
        )
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2])


def test_generators_are_independent_and_state_round_trips():
    g1, g2 = ts.Generator().manual_seed(3), ts.Generator().manual_seed(3)
    a = ts.rand(4, generator=g1)
    ts.rand(4)  # the global generator does not disturb g2
    np.testing.assert_array_equal(a.numpy(), ts.rand(4, generator=g2).numpy())
    state = g1.get_state()
    b = ts.randn(3, generator=g1)
    g1.set_state(state)
    np.testing.assert_array_equal(b.numpy(), ts.randn(3, generator=g1).numpy())
    assert g1.initial_seed() == 3
    with pytest.raises(RuntimeError, match="set_state: expected a uint8 tensor of 24 bytes"):
        g1.set_state(ts.zeros(3, dtype=ts.uint8))
    with pytest.raises(TypeError, match="generator must be a ts.Generator"):
        ts.rand(2, generator=object())


def test_consecutive_draws_differ_and_distributions_are_right():
    g = ts.Generator().manual_seed(7)
    assert not np.array_equal(ts.rand(8, generator=g).numpy(), ts.rand(8, generator=g).numpy())
    u = ts.rand(200_000, generator=g, dtype=ts.float64).numpy()
    z = ts.randn(200_000, generator=g).numpy()
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002 and u.min() >= 0 and u.max() < 1
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01 and z.dtype == np.float32
    k = ts.randint(3, 9, (50_000,), generator=g).numpy()
    assert k.min() == 3 and k.max() == 8 and abs(k.mean() - 5.5) < 0.05
    n = ts.normal(2.0, 3.0, (100_000,), generator=g).numpy()
    assert abs(n.mean() - 2) < 0.05 and abs(n.std() - 3) < 0.05
    assert sorted(ts.randperm(10, generator=g).tolist()) == list(range(10))
    b = ts.bernoulli(ts.full((100_000,), 0.3), generator=g).numpy()
    assert abs(b.mean() - 0.3) < 0.01 and set(np.unique(b)) <= {0.0, 1.0}


def test_multinomial():
    g = ts.Generator().manual_seed(1)
    w = ts.tensor([[1.0, 0.0, 3.0], [0.0, 1.0, 0.0]])
    s = ts.multinomial(w, 2000, replacement=True, generator=g).numpy()
    assert s.shape == (2, 2000) and set(np.unique(s[0])) <= {0, 2} and (s[1] == 1).all()
    assert abs((s[0] == 2).mean() - 0.75) < 0.04
    perm = ts.multinomial(ts.ones(5), 5, generator=g).numpy()
    assert sorted(perm.tolist()) == list(range(5))
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        ts.multinomial(ts.ones(3), 4)
    with pytest.raises(RuntimeError, match="invalid distribution"):
        ts.multinomial(ts.tensor([1.0, -1.0]), 1)


def test_every_draw_is_an_op_on_the_state_and_advances_it():
    g = ts.Generator().manual_seed(5)
    calls = []

    def record(call):
        calls.append((call.op.name, [id(a) for a in call.args if isinstance(a, ts.Tensor)], call.mutated))
        return call.proceed()

    before = g._state.numpy().copy()
    with intercept(record):
        ts.rand(3, generator=g)
        ts.nn.functional.dropout(ts.ones(4), 0.5)
    assert [c[0] for c in calls[:2]] == ["random", "rng_advance"]
    assert id(g._state) in calls[0][1] and calls[1][2] == (g._state,)
    assert "bernoulli" in [c[0] for c in calls] and "dropout" in [c[0] for c in calls]
    after = g._state.numpy()
    assert after[2] == before[2] + 1 and (after[:2] == before[:2]).all()


def test_dropout_mask_is_an_input_and_scales():
    x = ts.ones(1000, requires_grad=True)
    y = ts.nn.functional.dropout(x, 0.25)
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    assert 0.7 < kept.mean() < 0.8
    assert y.grad_fn.name() == "DropoutBackward0" and y.grad_fn.saved[1].dtype is ts.bool
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() != 0, kept)


def test_embedding_max_norm_bumps_the_weight_version():
    emb = ts.nn.Embedding(5, 3, max_norm=0.5)
    v = emb.weight._version
    out = emb(ts.tensor([1, 2]))
    assert emb.weight._version == v + 1
    norms = np.linalg.norm(emb.weight.detach().numpy()[[1, 2]], axis=1)
    assert (norms <= 0.5 + 1e-6).all()
    np.testing.assert_allclose(out.detach().numpy(), emb.weight.detach().numpy()[[1, 2]])
