"""``ts.distributions`` against ``torch.distributions``: densities, entropies, moments, cdf/icdf and KL
divergences (values and gradients in the parameters), sampling statistics, reparameterised gradients,
determinism under ``ts.manual_seed`` and argument validation."""

from __future__ import annotations

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera import distributions as D

pytestmark = needs_torch
RNG = np.random.default_rng(0)


def _pair(a, requires_grad=True):
    a = np.asarray(a, dtype=np.float64)
    t = ts.tensor(a, requires_grad=requires_grad)
    r = torch.tensor(a, requires_grad=requires_grad)
    return t, r


def _close(a, b, tol=1e-9):
    a = a.detach().numpy() if isinstance(a, ts.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(
        np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol
    )


def _params():
    """name -> (params as numpy arrays, builder(lib, *params), a value inside the support)."""
    return {
        "Normal": ([RNG.normal(size=4), RNG.uniform(0.5, 2, 4)], lambda L, a, b: L.Normal(a, b),
                   RNG.normal(size=(3, 4))),
        "Uniform": ([RNG.uniform(-2, -1, 4), RNG.uniform(1, 2, 4)], lambda L, a, b: L.Uniform(a, b),
                    RNG.uniform(-0.9, 0.9, (3, 4))),
        "Exponential": ([RNG.uniform(0.5, 2, 4)], lambda L, a: L.Exponential(a), RNG.uniform(0.1, 3, (3, 4))),
        "Laplace": ([RNG.normal(size=4), RNG.uniform(0.5, 2, 4)], lambda L, a, b: L.Laplace(a, b),
                    RNG.normal(size=(3, 4))),
        "Bernoulli": ([RNG.uniform(0.1, 0.9, 4)], lambda L, p: L.Bernoulli(probs=p),
                      RNG.integers(0, 2, (3, 4)).astype(float)),
        "BernoulliLogits": ([RNG.normal(size=4)], lambda L, lg: L.Bernoulli(logits=lg),
                            RNG.integers(0, 2, (3, 4)).astype(float)),
        "Categorical": ([RNG.uniform(0.1, 1, (2, 5))], lambda L, p: L.Categorical(probs=p),
                        RNG.integers(0, 5, (3, 2)).astype(float)),
        "CategoricalLogits": ([RNG.normal(size=(2, 5))], lambda L, lg: L.Categorical(logits=lg),
                              RNG.integers(0, 5, (3, 2)).astype(float)),
    }  # fmt: skip


CASES = _params()


def _build(name):
    params, build, value = CASES[name]
    pairs = [_pair(p) for p in params]
    d_ts = build(D, *[p[0] for p in pairs])
    d_torch = build(torch.distributions, *[p[1] for p in pairs])
    return pairs, d_ts, d_torch, value


def _backward_both(out_ts, out_torch, pairs):
    out_ts.sum().backward()
    out_torch.sum().backward()
    for t, r in pairs:
        _close(t.grad, r.grad)


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_and_its_gradients_match_torch(name):
    pairs, d, r, value = _build(name)
    v_ts, v_torch = ts.tensor(value), torch.tensor(value)
    if "Categorical" in name:
        v_ts, v_torch = v_ts.long(), v_torch.long()
    _close(d.log_prob(v_ts), r.log_prob(v_torch))
    _backward_both(d.log_prob(v_ts), r.log_prob(v_torch), pairs)


@pytest.mark.parametrize("name", list(CASES))
def test_entropy_and_moments_match_torch(name):
    pairs, d, r, _ = _build(name)
    _close(d.entropy(), r.entropy())
    for prop in ("mean", "variance", "stddev", "mode"):
        _close(getattr(d, prop), getattr(r, prop))
    assert tuple(d.batch_shape) == tuple(r.batch_shape) and tuple(d.event_shape) == tuple(r.event_shape)
    _backward_both(d.entropy(), r.entropy(), pairs)


@pytest.mark.parametrize("name", ["Normal", "Uniform", "Exponential", "Laplace"])
def test_cdf_and_icdf_match_torch(name):
    pairs, d, r, value = _build(name)
    _close(d.cdf(ts.tensor(value)), r.cdf(torch.tensor(value)))
    q = RNG.uniform(0.05, 0.95, (3, 4))
    if name == "Normal" and not hasattr(ts, "erfinv"):
        pytest.skip("ts.erfinv is not available")
    _close(d.icdf(ts.tensor(q)), r.icdf(torch.tensor(q)), tol=1e-7)


@pytest.mark.parametrize("name", ["Normal", "Uniform", "Exponential", "Laplace", "Bernoulli", "Categorical"])
def test_sample_statistics_follow_the_distribution(name):
    _, d, r, _ = _build(name)
    ts.manual_seed(0)
    x = d.sample((40000,))
    assert tuple(x.shape) == (40000, *r.batch_shape)
    if name == "Categorical":
        counts = np.stack([np.bincount(x.numpy()[:, i], minlength=5) for i in range(2)]) / 40000
        np.testing.assert_allclose(counts, r.probs.detach().numpy(), atol=0.015)
        return
    np.testing.assert_allclose(x.numpy().mean(0), r.mean.detach().numpy(), atol=0.05)
    np.testing.assert_allclose(x.numpy().var(0), r.variance.detach().numpy(), rtol=0.06, atol=0.01)


def test_draws_repeat_under_manual_seed():
    d = D.Normal(ts.zeros(3), ts.ones(3))
    ts.manual_seed(7)
    a = d.sample((4,))
    ts.manual_seed(7)
    b = d.sample((4,))
    assert np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("name", ["Normal", "Uniform", "Exponential", "Laplace"])
def test_rsample_is_differentiable_in_the_parameters(name):
    pairs, d, _, _ = _build(name)
    assert d.has_rsample
    ts.manual_seed(1)
    x = d.rsample((5,))
    x.sum().backward()
    assert all(t.grad is not None and np.isfinite(t.grad.numpy()).all() for t, _ in pairs)
    if name == "Normal":  # x = loc + eps * scale: d/dloc = 5 per entry, d/dscale = sum of eps
        ts.manual_seed(1)
        eps = (d.rsample((5,)) - d.loc) / d.scale
        _close(pairs[0][0].grad, np.full(4, 5.0))
        _close(pairs[1][0].grad, eps.detach().numpy().sum(0), tol=1e-7)
    assert not d.sample().requires_grad


KL_PAIRS = [("Normal", "Normal"), ("Uniform", "Uniform"), ("Exponential", "Exponential"),
            ("Laplace", "Laplace"), ("Bernoulli", "Bernoulli"), ("Categorical", "Categorical")]  # fmt: skip


@pytest.mark.parametrize("p_name, q_name", KL_PAIRS)
def test_kl_divergence_matches_torch(p_name, q_name):
    pp, dp, rp, _ = _build(p_name)
    pq, dq, rq, _ = _build(q_name)
    if p_name == "Uniform":  # q must cover p for a finite value
        pq2 = [_pair(np.asarray(pq[0][1].detach()) - 1), _pair(np.asarray(pq[1][1].detach()) + 1)]
        dq, rq = D.Uniform(pq2[0][0], pq2[1][0]), torch.distributions.Uniform(pq2[0][1], pq2[1][1])
        pq = pq2
    got, want = D.kl_divergence(dp, dq), torch.distributions.kl_divergence(rp, rq)
    _close(got, want)
    _backward_both(got, want, pp + pq)


def test_kl_uniform_not_covering_is_infinite_and_unknown_pairs_raise():
    assert np.isinf(D.kl_divergence(D.Uniform(0.0, 2.0), D.Uniform(0.0, 1.0)).item())
    with pytest.raises(NotImplementedError, match="No KL.*Normal.*Bernoulli"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(probs=ts.tensor(0.5)))


def _spd(n, batch=()):
    a = RNG.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize("param", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_matches_torch(param):
    if not hasattr(ts, "linalg") or not hasattr(ts.linalg, "solve_triangular"):
        pytest.skip("ts.linalg.solve_triangular is not available")
    m = _spd(3, (2,))
    if param == "scale_tril":
        m = np.linalg.cholesky(m)
    loc_t, loc_r = _pair(RNG.normal(size=(2, 3)))
    m_t, m_r = _pair(m)
    d = D.MultivariateNormal(loc_t, **{param: m_t})
    r = torch.distributions.MultivariateNormal(loc_r, **{param: m_r})
    x = RNG.normal(size=(4, 2, 3))
    _close(d.log_prob(ts.tensor(x)), r.log_prob(torch.tensor(x)), tol=1e-8)
    _close(d.entropy(), r.entropy(), tol=1e-8)
    _close(d.covariance_matrix, r.covariance_matrix, tol=1e-8)
    _close(d.variance, r.variance, tol=1e-8)
    _backward_both(d.log_prob(ts.tensor(x)), r.log_prob(torch.tensor(x)), [(loc_t, loc_r), (m_t, m_r)])
    ts.manual_seed(0)
    s = d.sample((20000,)).numpy()
    np.testing.assert_allclose(s.mean(0), loc_r.detach().numpy(), atol=0.1)
    q_loc = RNG.normal(size=3)
    q = D.MultivariateNormal(ts.tensor(q_loc), covariance_matrix=ts.tensor(_spd(3)))
    rq = torch.distributions.MultivariateNormal(torch.tensor(q_loc), covariance_matrix=torch.tensor(
        np.asarray(q.covariance_matrix.detach().numpy())))  # fmt: skip
    _close(D.kl_divergence(d, q), torch.distributions.kl_divergence(r, rq), tol=1e-7)


@pytest.mark.parametrize(
    "build, match",
    [
        (
            lambda: D.Normal(ts.zeros(2), -ts.ones(2)),
            r"Expected parameter scale \(Tensor of shape \(2,\)\) of "
            r"distribution Normal\(loc: .*, scale: .*\) to satisfy the constraint GreaterThan\(lower_bound=0.0\)",
        ),
        (lambda: D.Uniform(ts.ones(2), ts.zeros(2)), r"Expected parameter low .*LessThan"),
        (lambda: D.Categorical(probs=ts.tensor([0.5, -0.1])), r"Expected parameter probs .*Simplex"),
        (lambda: D.Categorical(), r"Either `probs` or `logits` must be specified, but not both"),
        (lambda: D.Bernoulli(probs=ts.tensor(0.5), logits=ts.tensor(0.0)), r"Either `probs` or `logits`"),
        (lambda: D.Bernoulli(probs=ts.tensor([1.5])), r"Expected parameter probs .*Interval"),
        (lambda: D.Exponential(ts.tensor([0.0])), r"Expected parameter rate"),
        (
            lambda: D.Normal(0.0, 1.0).log_prob(ts.tensor([float("nan")])),
            r"Expected value argument \(Tensor of shape \(1,\)\) to be within the support \(Real\(\)\)",
        ),
        (
            lambda: D.Categorical(probs=ts.tensor([0.5, 0.5])).log_prob(ts.tensor(3)),
            r"within the support \(IntegerInterval\(lower_bound=0, upper_bound=1\)\)",
        ),
        (lambda: D.Normal(ts.zeros(3), ts.ones(3)).log_prob(ts.zeros(2)), r"not broadcastable"),
    ],
)
def test_invalid_arguments_raise_like_torch(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_validation_can_be_switched_off():
    d = D.Normal(ts.zeros(1), -ts.ones(1), validate_args=False)
    assert np.isnan(d.log_prob(ts.zeros(1)).item())
