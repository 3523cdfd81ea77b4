"""Autograd engine: accumulation, graph lifetime, version counters, hooks, grad modes, higher order,
GradientTape and gradcheck."""

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts


def test_seed_snippet_backward():
    x = ts.tensor(2.0, requires_grad=True)
    y = x**2 + 3 * x + 1
    y.backward()
    assert x.grad.item() == 7.0


def test_seed_snippet_gradient_tape():
    x = ts.tensor(2.0)
    with ts.GradientTape() as tape:
        tape.watch(x)
        y = x**2 + 3 * x + 1
    assert tape.gradient(y, x).item() == 7.0
    assert not x.requires_grad  # the tape does not leave the user's tensor changed


def test_grads_accumulate_across_backward_calls():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_same_leaf_used_twice_and_shared_grad_storage_is_not_aliased():
    a = ts.tensor([1.0, 2.0], requires_grad=True)
    b = ts.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(10)
    np.testing.assert_allclose(b.grad.numpy(), [1, 1])  # b.grad must not share memory with a.grad
    c = ts.tensor(3.0, requires_grad=True)
    (c * c + c).backward()
    assert c.grad.item() == 7.0


def test_broadcast_gradients_are_reduced_to_input_shapes():
    a = ts.ones(3, 1, requires_grad=True)
    b = ts.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 3.0))


def test_non_scalar_backward_needs_gradient():
    x = ts.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        y.backward()
    y.backward(ts.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2, 4, 6])
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).backward(ts.ones(2))


def test_second_backward_through_freed_graph_raises_unless_retained():
    x = ts.tensor(3.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 12.0
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_inplace_modification_of_saved_tensor_is_detected():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * y  # saves y
    y.add_(1)
    assert y._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises_and_leaves_it_unchanged():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.add_(1)
    np.testing.assert_allclose(x.detach().numpy(), [1, 2])
    with ts.no_grad():
        x.add_(1)
    np.testing.assert_allclose(x.detach().numpy(), [2, 3])


def test_inplace_on_non_leaf_rebinds_history():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.mul_(3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6, 6])


def test_failed_inplace_leaves_tensor_unchanged():
    a = ts.ones(3)
    with pytest.raises(RuntimeError, match="add"):
        a.add_(ts.ones(2, 3))
    np.testing.assert_allclose(a.numpy(), [1, 1, 1])
    assert a._version == 0
    i = ts.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(1.5)
    assert i.tolist() == [1, 2]


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        ts.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        ts.tensor([1, 2]).requires_grad_()


def test_requires_grad_flags_and_leafness():
    x = ts.ones(2, requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf and y.requires_grad
    assert y.grad_fn.name() == "MulBackward0"
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    with pytest.raises(RuntimeError, match="requires grad"):
        y.numpy()


def test_retain_grad_and_hooks():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 2)  # leaf hook replaces the gradient before accumulation
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6, 12])
    np.testing.assert_allclose(seen[0], [6, 12])
    np.testing.assert_allclose(x.grad.numpy(), [36, 72])


def test_hook_handle_remove():
    x = ts.tensor(1.0, requires_grad=True)
    h = x.register_hook(lambda g: g * 100)
    h.remove()
    (x * 2).backward()
    assert x.grad.item() == 2.0


def test_grad_modes():
    x = ts.ones(2, requires_grad=True)
    with ts.no_grad():
        assert not (x * 2).requires_grad
        with ts.enable_grad():
            assert (x * 2).requires_grad
    with ts.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    with ts.inference_mode():
        assert not (x * 2).requires_grad
        assert ts.is_inference_mode_enabled()
    assert ts.is_grad_enabled()

    @ts.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    prev = ts.set_grad_enabled(False)
    assert not ts.is_grad_enabled()
    ts.set_grad_enabled(True)
    del prev


def test_higher_order_gradients():
    x = ts.tensor(3.0, requires_grad=True)
    (dx,) = ts.autograd.grad(x**3, x, create_graph=True)
    assert dx.item() == pytest.approx(27.0)
    (d2x,) = ts.autograd.grad(dx, x, create_graph=True)
    assert d2x.item() == pytest.approx(18.0)
    (d3x,) = ts.autograd.grad(d2x, x)
    assert d3x.item() == pytest.approx(6.0)


def test_backward_create_graph_then_second_order():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    (g2,) = ts.autograd.grad(g.sum(), x)
    xs = np.array([1.0, 2.0])
    np.testing.assert_allclose(g2.numpy(), np.exp(xs) * (xs + 2), rtol=1e-6)


def test_autograd_grad_options():
    x = ts.tensor(1.0, requires_grad=True)
    z = ts.tensor(1.0, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="allow_unused"):
        ts.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = ts.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gx.item() == 2.0 and gz is None
    gx, gz = ts.autograd.grad(y, [x, z], materialize_grads=True, allow_unused=True)
    assert gz.item() == 0.0
    assert x.grad is None  # autograd.grad never touches .grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        ts.autograd.grad(x * 2, ts.tensor(1.0))


def test_grad_wrt_intermediate_and_backward_inputs():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    (gh,) = ts.autograd.grad(y, h, retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), [4, 8])
    w = ts.tensor(5.0, requires_grad=True)
    (y * w).backward(inputs=[w])
    assert x.grad is None and w.grad.item() == pytest.approx(20.0)


def test_gradient_tape_structures_persistent_and_unconnected():
    a = ts.tensor([1.0, 2.0], requires_grad=True)
    b = ts.tensor(3.0)
    c = ts.tensor(4.0, requires_grad=True)
    with ts.GradientTape(persistent=True) as tape:
        tape.watch(b)
        y = (a * b).sum()
    g = tape.gradient(y, {"a": a, "pair": [b, c]})
    np.testing.assert_allclose(g["a"].numpy(), [3, 3])
    assert g["pair"][0].item() == 3.0 and g["pair"][1] is None
    g2 = tape.gradient(y, [c], unconnected_gradients="zero")
    assert g2[0].item() == 0.0
    with ts.GradientTape() as tape2:
        y2 = (a * a).sum()
    tape2.gradient(y2, a)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape2.gradient(y2, a)


def test_gradient_tape_jacobian():
    x = ts.tensor([1.0, 2.0, 3.0])
    with ts.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_allclose(tape.jacobian(y, x).numpy(), np.diag([2.0, 4.0, 6.0]))


def test_gradcheck_detects_a_wrong_gradient():
    from tessera.core.dispatch import REGISTRY, OpDef, TensorMeta

    bad = REGISTRY.get("test_bad_square") or OpDef(
        "test_bad_square", lambda x: x * x, shape_rule=lambda x: TensorMeta(x.shape, x.dtype)
    )
    bad.defgrad(lambda ctx, g: g * ctx.saved[0] * 3)  # should be 2x
    x = ts.tensor([0.5, 1.5], dtype=ts.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        ts.autograd.gradcheck(lambda t: ts.ops.apply(bad, (t,)), (x,))
    assert ts.autograd.gradcheck(lambda t: t * t, (x,))


def test_gradgradcheck():
    x = ts.tensor([0.5, 1.5], dtype=ts.float64, requires_grad=True)
    y = ts.tensor([2.0, -1.0], dtype=ts.float64, requires_grad=True)
    assert ts.autograd.gradgradcheck(lambda a, b: (a * b * a).exp(), (x, y))


def test_dtype_of_gradients_matches_inputs():
    h = ts.ones(2, dtype=ts.float16, requires_grad=True)
    f = ts.ones(2, requires_grad=True)
    out = h * f
    assert out.dtype == ts.float32
    out.sum().backward()
    assert h.grad.dtype == ts.float16 and f.grad.dtype == ts.float32


@needs_torch
def test_matches_torch_on_a_small_graph():
    rng = np.random.default_rng(0)
    xa, wa = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32)
    x, w = ts.tensor(xa, requires_grad=True), ts.tensor(wa, requires_grad=True)
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    ((x @ w).exp() * x.sum()).sum().backward()
    ((tx @ tw).exp() * tx.sum()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5)


@needs_torch
def test_inplace_through_a_view_updates_the_base_history_like_torch():
    results = []
    for lib in (ts, torch):
        x = lib.ones(2, 3, requires_grad=True)
        w = lib.full((3, 1), 2.0, requires_grad=True)
        y = x * 2
        v = y.transpose(0, 1)
        v.mul_(w)
        (y * y).sum().backward()
        z = lib.zeros(3, 2)
        z.transpose(0, 1).add_(x)  # a base that did not require grad starts to
        (z * z).sum().backward()
        results.append([t.detach().numpy().copy() for t in (x.grad, w.grad, y)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b)


def test_inplace_on_view_of_leaf_requiring_grad_raises():
    x = ts.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x.transpose(0, 1).mul_(2)


def test_shape_only_gradients_allow_later_inplace_changes_like_torch():
    x = ts.tensor([0.0, 1.0], requires_grad=True)
    y = x * 1
    s = y.sum() + y.mean() + y.reshape(2, 1).sum()
    y[0] = 5.0
    s.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.5, 2.5])


def test_modified_saved_output_is_detected():
    x = ts.tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
