"""ts.keras metrics, losses and optimizers against NumPy / scikit-learn / ts.nn references."""

import math

import numpy as np
import pytest

import tessera as ts
from tessera.keras import losses as L
from tessera.keras import metrics as M
from tessera.keras import optimizers as O
from tessera.nn import functional as F

rng = np.random.default_rng(0)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# -- metrics ----------------------------------------------------------------------------------------------
def test_accuracy_family_vs_numpy():
    logits = rng.normal(size=(50, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 50)
    onehot = np.eye(4)[labels]
    m = M.SparseCategoricalAccuracy()
    m.update_state(labels[:20], logits[:20])
    m.update_state(ts.tensor(labels[20:]), ts.tensor(logits[20:]))
    assert float(m.result()) == pytest.approx((logits.argmax(1) == labels).mean(), abs=1e-6)
    m = M.SparseCategoricalAccuracy()
    m.update_state(labels[:, None], logits)  # (N, 1) labels as Keras allows
    assert float(m.result()) == pytest.approx((logits.argmax(1) == labels).mean(), abs=1e-6)
    m = M.CategoricalAccuracy()
    m.update_state(onehot, logits)
    assert float(m.result()) == pytest.approx((logits.argmax(1) == labels).mean(), abs=1e-6)
    probs = rng.random((30, 1))
    y = rng.integers(0, 2, (30, 1))
    for thr in (0.5, 0.3):
        m = M.BinaryAccuracy(threshold=thr)
        m.update_state(y, probs)
        assert float(m.result()) == pytest.approx(((probs > thr) == y).mean(), abs=1e-6)
    m = M.Accuracy()
    m.update_state([1, 2, 3, 4], [1, 2, 0, 4])
    assert float(m.result()) == 0.75


def test_top_k_vs_numpy():
    preds = rng.random((40, 6))
    labels = rng.integers(0, 6, 40)
    for k in (1, 2, 3):
        ref = np.mean([labels[i] in np.argsort(-preds[i])[:k] for i in range(40)])
        m = M.SparseTopKCategoricalAccuracy(k=k)
        m.update_state(labels, preds)
        assert float(m.result()) == pytest.approx(ref, abs=1e-6)
        m = M.TopKCategoricalAccuracy(k=k)
        m.update_state(np.eye(6)[labels], preds)
        assert float(m.result()) == pytest.approx(ref, abs=1e-6)


def test_mean_sample_weight_and_reset():
    m = M.Mean()
    m.update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 0.0, 3.0])
    assert float(m.result()) == pytest.approx((1 + 9) / 4)
    m.reset_state()
    assert float(m.result()) == 0.0
    acc = M.SparseCategoricalAccuracy()
    acc.update_state([0, 1], [[0.9, 0.1], [0.9, 0.1]], sample_weight=[3.0, 1.0])
    assert float(acc.result()) == pytest.approx(0.75)
    mae = M.get("mae")
    mae.update_state([[0.0], [1.0]], [[1.0], [3.0]])
    assert mae.name == "mae" and float(mae.result()) == pytest.approx(1.5)
    mse = M.MeanSquaredError()
    assert float(mse([[0.0], [1.0]], [[1.0], [3.0]])) == pytest.approx(2.5)
    rmse = M.RootMeanSquaredError()
    rmse.update_state([[0.0], [1.0]], [[1.0], [3.0]])
    assert float(rmse.result()) == pytest.approx(math.sqrt(2.5), rel=1e-6)


def test_precision_recall_vs_sklearn():
    from sklearn.metrics import precision_score, recall_score

    y = rng.integers(0, 2, 200)
    p = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    for thr in (0.5, 0.7):
        pr, rc = M.Precision(thresholds=thr), M.Recall(thresholds=thr)
        pr.update_state(y[:100], p[:100])
        pr.update_state(y[100:], p[100:])
        rc.update_state(y, p)
        assert float(pr.result()) == pytest.approx(precision_score(y, p > thr), abs=1e-6)
        assert float(rc.result()) == pytest.approx(recall_score(y, p > thr), abs=1e-6)
    multi = M.Precision(thresholds=[0.3, 0.5, 0.9])
    multi.update_state(y, p)
    ref = [precision_score(y, p > t) for t in (0.3, 0.5, 0.9)]
    np.testing.assert_allclose(multi.result().numpy(), ref, atol=1e-6)
    # class_id on one-hot multi-class predictions
    labels = rng.integers(0, 3, 100)
    probs = softmax(rng.normal(size=(100, 3)))
    r = M.Recall(class_id=2)
    r.update_state(np.eye(3)[labels], probs)
    assert float(r.result()) == pytest.approx(recall_score(labels == 2, probs[:, 2] > 0.5), abs=1e-6)
    # nothing predicted positive: 0, not NaN
    empty = M.Precision()
    empty.update_state([1, 0], [0.1, 0.2])
    assert float(empty.result()) == 0.0


def test_auc_vs_sklearn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = rng.integers(0, 2, 2000)
    p = np.clip(y * 0.25 + rng.random(2000) * 0.75, 0, 1)
    m = M.AUC()
    for i in range(0, 2000, 500):
        m.update_state(y[i : i + 500], p[i : i + 500])
    assert float(m.result()) == pytest.approx(roc_auc_score(y, p), abs=2e-3)
    pr = M.AUC(curve="PR")
    pr.update_state(y, p)
    assert float(pr.result()) == pytest.approx(average_precision_score(y, p), abs=1e-2)
    # Keras's own example (3 thresholds: -eps, 0.5, 1+eps)
    k = M.AUC(num_thresholds=3)
    k.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert float(k.result()) == pytest.approx(0.75)
    # minoring <= interpolation <= majoring
    vals = []
    for method in ("minoring", "interpolation", "majoring"):
        a = M.AUC(num_thresholds=20, summation_method=method)
        a.update_state(y, p)
        vals.append(float(a.result()))
    assert vals[0] <= vals[1] <= vals[2]
    # multi-label: the mean of per-column AUCs
    yy = rng.integers(0, 2, (500, 3))
    pp = np.clip(rng.random((500, 3)) * 0.6 + yy * 0.3, 0, 1)
    ml = M.AUC(multi_label=True)
    ml.update_state(yy, pp)
    assert float(ml.result()) == pytest.approx(roc_auc_score(yy, pp, average="macro"), abs=3e-3)
    # from_logits applies a sigmoid
    lg = M.AUC(from_logits=True)
    logits = rng.normal(size=300)
    yl = (logits + rng.normal(size=300) > 0).astype(int)
    lg.update_state(yl, logits)
    assert float(lg.result()) == pytest.approx(roc_auc_score(yl, logits), abs=5e-3)
    with pytest.raises(ValueError, match="from_logits"):
        M.AUC().update_state([0, 1], [-1.0, 2.0])
    with pytest.raises(ValueError, match="curve"):
        M.AUC(curve="XYZ")


def test_metric_lookup_and_serialization():
    assert isinstance(M.get("sparse_categorical_accuracy"), M.SparseCategoricalAccuracy)
    assert isinstance(M.get("AUC"), M.AUC)
    assert isinstance(M.get("Precision"), M.Precision)
    assert M.get("mse").name == "mse"
    for m in (
        M.AUC(num_thresholds=50, curve="PR"),
        M.Precision(thresholds=0.3),
        M.BinaryAccuracy(threshold=0.2),
        M.SparseTopKCategoricalAccuracy(k=3),
    ):
        m2 = M.deserialize(M.serialize(m))
        assert type(m2) is type(m) and m2.get_config() == m.get_config()
    with pytest.raises(ValueError, match="unknown metric"):
        M.get("not_a_metric")


# -- losses -----------------------------------------------------------------------------------------------
def _np_scce(labels, probs):
    p = probs / probs.sum(-1, keepdims=True)
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -np.log(p[np.arange(len(labels)), labels])


def test_crossentropies_vs_numpy_and_nn():
    logits = rng.normal(size=(16, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 16)
    probs = softmax(logits.astype(np.float64)).astype(np.float32)
    # from_logits=True matches F.cross_entropy
    got = L.SparseCategoricalCrossentropy(from_logits=True)(labels, ts.tensor(logits))
    ref = F.cross_entropy(ts.tensor(logits), ts.tensor(labels))
    assert float(got) == pytest.approx(float(ref), rel=1e-5)
    # probabilities: NumPy reference with Keras's clipping
    got = L.SparseCategoricalCrossentropy()(labels, ts.tensor(probs))
    assert float(got) == pytest.approx(_np_scce(labels, probs).mean(), rel=1e-5)
    onehot = np.eye(5, dtype=np.float32)[labels]
    got = L.CategoricalCrossentropy()(onehot, ts.tensor(probs))
    assert float(got) == pytest.approx(_np_scce(labels, probs).mean(), rel=1e-5)
    got = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(onehot, ts.tensor(logits))
    ref = F.cross_entropy(ts.tensor(logits), ts.tensor(labels), label_smoothing=0.1)
    assert float(got) == pytest.approx(float(ref), rel=1e-5)
    # a zero probability is clipped at 1e-7 as Keras: -log(1e-7)
    zero = L.sparse_categorical_crossentropy([0], ts.tensor([[0.0, 1.0]]))
    assert float(zero[0]) == pytest.approx(-math.log(1e-7), rel=1e-4)
    # binary
    y = rng.integers(0, 2, (16, 1)).astype(np.float32)
    z = rng.normal(size=(16, 1)).astype(np.float32)
    got = L.BinaryCrossentropy(from_logits=True)(y, ts.tensor(z))
    ref = F.binary_cross_entropy_with_logits(ts.tensor(z), ts.tensor(y))
    assert float(got) == pytest.approx(float(ref), rel=1e-5)
    p = 1 / (1 + np.exp(-z))
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    ref = -(y * np.log(pc) + (1 - y) * np.log(1 - pc)).mean()
    assert float(L.BinaryCrossentropy()(y, ts.tensor(p))) == pytest.approx(ref, rel=1e-5)
    ys = y * 0.8 + 0.1
    ref = -(ys * np.log(pc) + (1 - ys) * np.log(1 - pc)).mean()
    assert float(L.BinaryCrossentropy(label_smoothing=0.2)(y, ts.tensor(p))) == pytest.approx(ref, rel=1e-5)
    # ignore_class contributes 0
    v = L.sparse_categorical_crossentropy(np.array([0, 3]), ts.tensor(probs[:2, :4]), ignore_class=3)
    assert float(v[1]) == 0.0


def test_regression_losses_vs_numpy():
    yt = rng.normal(size=(8, 3)).astype(np.float32)
    yp = rng.normal(size=(8, 3)).astype(np.float32)
    d = yp - yt
    delta = 0.7
    huber = np.where(np.abs(d) <= delta, 0.5 * d**2, delta * (np.abs(d) - 0.5 * delta)).mean(-1)
    pos_t, pos_p = np.abs(yt) + 0.1, np.abs(yp) + 0.1
    cases = [
        (L.MeanSquaredError(), yt, yp, (d**2).mean(-1)),
        (L.MeanAbsoluteError(), yt, yp, np.abs(d).mean(-1)),
        (L.Huber(delta=delta), yt, yp, huber),
        (L.LogCosh(), yt, yp, np.log(np.cosh(d)).mean(-1)),
        (L.MeanSquaredLogarithmicError(), pos_t, pos_p, ((np.log1p(pos_p) - np.log1p(pos_t)) ** 2).mean(-1)),
        (L.MeanAbsolutePercentageError(), pos_t, pos_p, 100 * (np.abs(pos_t - pos_p) / pos_t).mean(-1)),
        (L.Poisson(), pos_t, pos_p, (pos_p - pos_t * np.log(pos_p + 1e-7)).mean(-1)),
    ]
    pt, pp = softmax(yt), softmax(yp)
    cases.append((L.KLDivergence(), pt, pp, (pt * np.log(pt / pp)).sum(-1)))
    n_t = yt / np.linalg.norm(yt, axis=-1, keepdims=True)
    n_p = yp / np.linalg.norm(yp, axis=-1, keepdims=True)
    cases.append((L.CosineSimilarity(), yt, yp, -(n_t * n_p).sum(-1)))
    sign = np.where(yt > 0, 1.0, -1.0)
    cases.append((L.Hinge(), sign, yp, np.maximum(1 - sign * yp, 0).mean(-1)))
    cases.append((L.SquaredHinge(), sign, yp, (np.maximum(1 - sign * yp, 0) ** 2).mean(-1)))
    for loss, a, b, per_sample in cases:
        got = loss(a, ts.tensor(b))
        assert float(got) == pytest.approx(per_sample.mean(), rel=1e-4, abs=1e-6), loss.name
        none = type(loss)(
            reduction="none", **{k: v for k, v in loss.get_config().items() if k not in ("name", "reduction")}
        )
        np.testing.assert_allclose(none(a, ts.tensor(b)).numpy(), per_sample, rtol=1e-4, atol=1e-6)
    # vs ts.nn
    assert float(L.MeanSquaredError()(yt, ts.tensor(yp))) == pytest.approx(
        float(F.mse_loss(ts.tensor(yp), ts.tensor(yt))), rel=1e-6
    )
    assert float(L.Huber(delta=delta)(yt, ts.tensor(yp))) == pytest.approx(
        float(F.huber_loss(ts.tensor(yp), ts.tensor(yt), delta=delta)), rel=1e-6
    )


def test_loss_reductions_sample_weight_and_grad():
    yt = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
    yp = ts.tensor(np.zeros((4, 1), np.float32), requires_grad=True)
    w = np.array([1.0, 0.0, 2.0, 0.5], np.float32)
    per = yt[:, 0] ** 2
    assert float(L.MeanSquaredError()(yt, yp, sample_weight=w)) == pytest.approx((per * w).sum() / 4)
    assert float(L.MeanSquaredError(reduction="sum")(yt, yp, sample_weight=w)) == pytest.approx(
        (per * w).sum()
    )
    got = L.MeanSquaredError(reduction="mean_with_sample_weight")(yt, yp, sample_weight=w)
    assert float(got) == pytest.approx((per * w).sum() / w.sum())
    loss = L.MeanSquaredError()(yt, yp)
    loss.backward()
    np.testing.assert_allclose(yp.grad.detach().numpy(), -2 * yt / 4, rtol=1e-6)
    # y_true (N,) against y_pred (N, 1): same value as with matching shapes
    np.testing.assert_array_equal(L.mse(yt[:, 0], yp).detach().numpy(), L.mse(yt, yp).detach().numpy())
    with pytest.raises(ValueError, match="reduction"):
        L.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="out of range"):
        L.sparse_categorical_crossentropy([5], ts.tensor([[0.5, 0.5]]))


def test_loss_lookup_and_serialization():
    assert L.get("mse") is L.mean_squared_error
    assert L.get("sparse_categorical_crossentropy") is L.sparse_categorical_crossentropy
    assert isinstance(L.get("BinaryCrossentropy"), L.BinaryCrossentropy)
    assert isinstance(L.get(L.Huber), L.Huber)
    for loss in (L.Huber(delta=2.5), L.SparseCategoricalCrossentropy(from_logits=True), L.MeanSquaredError()):
        loss2 = L.deserialize(L.serialize(loss))
        assert type(loss2) is type(loss) and loss2.get_config() == loss.get_config()
    assert L.serialize(L.mae) == "mean_absolute_error"
    with pytest.raises(ValueError, match="unknown loss"):
        L.get("nope")


# -- optimizers -------------------------------------------------------------------------------------------
def _params(seed=0):
    g = np.random.default_rng(seed)
    return [
        ts.nn.Parameter(ts.tensor(g.normal(size=(3, 2)).astype(np.float32))),
        ts.nn.Parameter(ts.zeros(2)),
    ]


def _run(opt_factory, steps=5):
    params = _params()
    opt = opt_factory(params)
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss = (params[0].sum(0) * ts.tensor([1.0, -2.0]) + params[1]).square().sum()
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params]


def test_keras_optimizers_match_references():
    def keras(opt):
        def make(params):
            opt.build(params)
            return opt

        return make

    pairs = [
        (O.Adam(learning_rate=0.01), lambda p: ts.optim.Adam(p, lr=0.01, eps=1e-7)),
        (
            O.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
            lambda p: ts.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        ),
        (O.RMSprop(learning_rate=0.01, rho=0.8), lambda p: ts.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-7)),
        (
            O.Adagrad(learning_rate=0.1),
            lambda p: ts.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-7),
        ),
        (O.AdamW(learning_rate=0.01), lambda p: ts.optim.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.004)),
    ]
    for kopt, ref in pairs:
        for a, b in zip(_run(keras(kopt)), _run(ref)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # Keras's SGD momentum formula: v = m*v - lr*g; w += v
    params = _params()
    w = params[0].detach().numpy().astype(np.float64).copy()
    opt = O.SGD(learning_rate=0.1, momentum=0.5)
    v = np.zeros_like(w)
    for _ in range(3):
        g = np.full_like(w, 1.0)
        opt.apply_gradients([(ts.ones(3, 2), params[0])])
        v = 0.5 * v - 0.1 * g
        w = w + v
    np.testing.assert_allclose(params[0].detach().numpy(), w, rtol=1e-6)


def test_decoupled_weight_decay_and_clipping():
    p = ts.nn.Parameter(ts.ones(4))
    opt = O.SGD(learning_rate=0.1, weight_decay=0.5)
    opt.apply_gradients([(ts.zeros(4), p)])
    np.testing.assert_allclose(p.detach().numpy(), np.full(4, 1 - 0.1 * 0.5), rtol=1e-6)
    p = ts.nn.Parameter(ts.zeros(4))
    opt = O.SGD(learning_rate=1.0, clipnorm=1.0)
    opt.apply_gradients([(ts.full((4,), 2.0), p)])
    assert np.linalg.norm(p.detach().numpy()) == pytest.approx(1.0, rel=1e-5)
    p = ts.nn.Parameter(ts.zeros(2))
    opt = O.SGD(learning_rate=1.0, clipvalue=0.5)
    opt.apply_gradients([(ts.tensor([3.0, -0.2]), p)])
    np.testing.assert_allclose(p.detach().numpy(), [-0.5, 0.2], rtol=1e-6)


def test_learning_rate_property_and_schedule():
    opt = O.Adam(learning_rate=0.01)
    opt.learning_rate = 0.05  # before the build
    params = _params()
    opt.build(params)
    assert opt.optimizer.param_groups[0]["lr"] == 0.05
    opt.learning_rate = 0.002
    assert opt.optimizer.param_groups[0]["lr"] == 0.002 and opt.learning_rate == 0.002
    sched = O.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = O.SGD(learning_rate=sched)
    p = ts.nn.Parameter(ts.zeros(1))
    for _ in range(3):
        opt.apply_gradients([(ts.ones(1), p)])
    assert p.detach().numpy()[0] == pytest.approx(-(0.1 + 0.05 + 0.025))
    cfg = O.serialize(opt)
    assert O.deserialize(cfg)._schedule(2) == pytest.approx(0.025)


def test_optimizer_config_state_and_get():
    for name, cls in (
        ("adam", O.Adam),
        ("sgd", O.SGD),
        ("rmsprop", O.RMSprop),
        ("adagrad", O.Adagrad),
        ("adamw", O.AdamW),
    ):
        assert type(O.get(name)) is cls
    opt = O.RMSprop(learning_rate=0.03, rho=0.7, momentum=0.1, centered=True)
    opt2 = O.deserialize(O.serialize(opt))
    assert type(opt2) is O.RMSprop and opt2.get_config() == opt.get_config()
    import json

    json.dumps(O.serialize(opt))
    # state round trip, loaded before the build (as when a saved model is reloaded)
    params = _params()
    a = O.Adam(learning_rate=0.01)
    a.build(params)
    for _ in range(2):
        a.apply_gradients([(ts.ones(3, 2), params[0]), (ts.ones(2), params[1])])
    sd = a.state_dict()
    assert sd["iterations"] == 2
    b = O.Adam(learning_rate=0.01)
    b.load_state_dict(sd)
    params_b = [ts.nn.Parameter(p.detach().clone()) for p in params]
    b.build(params_b)
    assert b.iterations == 2
    for opt, ps in ((a, params), (b, params_b)):
        opt.apply_gradients([(ts.ones(3, 2), ps[0]), (ts.ones(2), ps[1])])
    for x, y in zip(params, params_b):
        np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())
    # a ts.optim optimizer is wrapped
    lin = ts.nn.Linear(2, 1)
    w = O.get(ts.optim.SGD(lin.parameters(), lr=0.3, momentum=0.9))
    assert isinstance(w, O.TorchOptimizer) and w.learning_rate == 0.3
    w2 = O.deserialize(O.serialize(w))
    w2.build(list(ts.nn.Linear(2, 1).parameters()))
    assert type(w2.optimizer) is ts.optim.SGD and w2.optimizer.param_groups[0]["momentum"] == 0.9
    with pytest.raises(ValueError, match="unknown optimizer"):
        O.get("adamax9")
    with pytest.raises(ValueError, match="beta_1"):
        O.Adam(beta_1=1.5)


def test_metric_update_op_rule_validation_and_trace():
    from tessera.core.dispatch import OpError, TensorMeta, infer_meta, intercept

    op = M.METRIC_UPDATE
    state = ts.zeros(2, dtype=ts.float64)
    with ts.no_grad():
        out = ts.core.dispatch.apply(op, (state, ts.tensor(1.5, dtype=ts.float64), 4.0))
    assert out is state and state.numpy().tolist() == [1.5, 4.0]
    meta = infer_meta(op, (TensorMeta((2,), ts.float64), TensorMeta((), ts.float32), 1.0))
    assert meta == TensorMeta((2,), ts.float64)
    with pytest.raises(OpError, match="expected 2 increments"):
        infer_meta(op, (TensorMeta((2,), ts.float64), 1.0))
    with pytest.raises(OpError, match="does not broadcast"):
        infer_meta(op, (TensorMeta((2, 3), ts.float64), TensorMeta((4,), ts.float64), 1.0))
    # a bad increment leaves the state untouched (checked before any write)
    counts = ts.zeros(2, 3, dtype=ts.float64)
    with ts.no_grad(), pytest.raises((ValueError, OpError)):
        ts.core.dispatch.apply(op, (counts, ts.ones(3, dtype=ts.float64), ts.ones(4, dtype=ts.float64)))
    assert counts.numpy().sum() == 0
    # a metric's whole update is seen by an interceptor, and its state changes only inside the ops
    m = M.Mean()
    seen = []

    def watch(call):
        seen.append(call.op.name)
        return call.proceed()

    with intercept(watch):
        m.update_state(np.array([1.0, 2.0, 6.0]), sample_weight=np.array([1.0, 1.0, 0.5]))
    assert "keras_metric_update" in seen and float(m.result()) == pytest.approx(6.0 / 2.5)
