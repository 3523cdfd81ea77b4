"""Core, attention, normalization and regularization layers against real Keras 3 (torch backend): the same
weights (copied with get_weights/set_weights) give the same outputs to 1e-5 over a table of configurations;
weight layouts and configs agree; noise layers' statistics; constraints in training; symbolic use; errors."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
import tessera.keras as tk

L = tk.layers


def _np(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _rnd(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _config_diff(theirs: dict, ours: dict) -> dict:
    skip = {"name", "dtype"}
    return {
        k: (theirs.get(k), ours.get(k))
        for k in set(theirs) | set(ours)
        if k not in skip and _norm(theirs.get(k)) != _norm(ours.get(k))
    }


def _norm(v):
    if isinstance(v, (list, tuple)):
        return [_norm(e) for e in v]
    if isinstance(v, dict):
        return {k: _norm(e) for k, e in v.items() if k != "registered_name" and k != "module"}
    return v


# class name, constructor kwargs, input shapes (a list means a list input), call kwargs
CASES = [
    ("Identity", {}, (2, 3, 4), {}),
    ("ELU", {}, (3, 5), {}),
    ("ELU", {"alpha": 0.3}, (3, 5), {}),
    ("PReLU", {}, (2, 4, 3), {}),
    ("PReLU", {"shared_axes": [1]}, (2, 4, 3), {}),
    ("PReLU", {"shared_axes": [1, 2], "alpha_initializer": "ones"}, (2, 4, 5, 3), {}),
    ("Dense", {"units": 4, "kernel_constraint": "non_neg", "bias_constraint": "max_norm"}, (3, 5), {}),
    ("Embedding", {"input_dim": 7, "output_dim": 3, "embeddings_constraint": "unit_norm"}, "ids", {}),
    ("Dropout", {"rate": 0.3, "noise_shape": [None, 1, 4]}, (2, 3, 4), {"training": False}),
    ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, (3, 5), {}),
    (
        "EinsumDense",
        {"equation": "abc,cde->abde", "output_shape": (None, 4, 2), "bias_axes": "de"},
        (2, 5, 6),
        {},
    ),
    ("EinsumDense", {"equation": "...b,bc->...c", "output_shape": 6, "activation": "relu"}, (2, 3, 4, 5), {}),
    ("EinsumDense", {"equation": "ab...,bc->ac...", "output_shape": (4,), "bias_axes": "c"}, (2, 3, 3), {}),
    (
        "EinsumDense",
        {"equation": "abc,bcd->ad", "output_shape": (6,), "kernel_constraint": "non_neg"},
        (2, 3, 4),
        {},
    ),
    ("ReversibleEmbedding", {"input_dim": 7, "output_dim": 3}, "ids", {}),
    (
        "ReversibleEmbedding",
        {"input_dim": 7, "output_dim": 3, "tie_weights": False, "mask_zero": True},
        "ids",
        {},
    ),
    ("Attention", {}, [(2, 3, 4), (2, 5, 4)], {}),
    ("Attention", {"use_scale": True}, [(2, 3, 4), (2, 5, 4), (2, 5, 4)], {"use_causal_mask": True}),
    ("Attention", {"score_mode": "concat", "use_scale": True}, [(2, 3, 4), (2, 5, 4)], {}),
    ("Attention", {}, [(2, 3, 4), (2, 5, 6), (2, 5, 4)], {"return_attention_scores": True}),
    ("AdditiveAttention", {}, [(2, 3, 4), (2, 5, 4)], {"return_attention_scores": True}),
    ("AdditiveAttention", {"use_scale": False}, [(2, 3, 4), (2, 5, 4)], {"use_causal_mask": True}),
    ("GroupNormalization", {"groups": 2}, (3, 5, 6), {}),
    ("GroupNormalization", {"groups": -1, "axis": 1}, (3, 4, 5), {}),
    ("GroupNormalization", {"groups": 3, "center": False, "epsilon": 0.1}, (2, 3, 4, 6), {}),
    ("RMSNormalization", {}, (3, 5, 6), {}),
    ("RMSNormalization", {"axis": [1, 2], "epsilon": 1e-3}, (3, 5, 6), {}),
    ("UnitNormalization", {}, (3, 5), {}),
    ("UnitNormalization", {"axis": [1, 2]}, (3, 5, 4), {}),
    ("LayerNormalization", {"gamma_constraint": "non_neg", "beta_constraint": "max_norm"}, (3, 5), {}),
    ("LayerNormalization", {"rms_scaling": True, "axis": [1, 2]}, (3, 5, 4), {}),
    ("LayerNormalization", {"axis": [2, 1]}, (3, 5, 4), {}),
    ("BatchNormalization", {"gamma_constraint": "non_neg"}, (6, 4), {"training": False}),
    ("GaussianNoise", {"stddev": 0.2}, (3, 4), {"training": False}),
    ("GaussianDropout", {"rate": 0.2}, (3, 4), {"training": False}),
    ("AlphaDropout", {"rate": 0.2, "noise_shape": [None, 1]}, (3, 4), {"training": False}),
    ("SpatialDropout1D", {"rate": 0.4}, (2, 3, 4), {"training": False}),
    ("SpatialDropout2D", {"rate": 0.4, "data_format": "channels_first"}, (2, 3, 4, 4), {"training": False}),
    ("SpatialDropout3D", {"rate": 0.4}, (2, 3, 3, 3, 2), {"training": False}),
    ("ActivityRegularization", {"l1": 0.1, "l2": 0.01}, (3, 4), {}),
]

MHA_CASES = [
    ({"num_heads": 2, "key_dim": 3}, [(2, 4, 6), (2, 5, 6)], {}),
    (
        {"num_heads": 2, "key_dim": 3, "value_dim": 4, "output_shape": 7, "use_bias": False},
        [(2, 4, 6), (2, 5, 8), (2, 5, 3)],
        {},
    ),
    ({"num_heads": 2, "key_dim": 3, "output_shape": (2, 3)}, [(2, 4, 6), (2, 5, 6)], {}),
    ({"num_heads": 2, "key_dim": 3}, [(2, 4, 6), (2, 4, 6)], {"use_causal_mask": True}),
    ({"num_heads": 3, "key_dim": 2, "attention_axes": (1, 2)}, [(2, 3, 4, 5), (2, 3, 4, 5)], {}),
    ({"num_heads": 3, "key_dim": 2, "attention_axes": 2}, [(2, 3, 4, 5), (2, 3, 6, 5)], {}),
    ({"num_heads": 2, "key_dim": 3, "use_gate": True}, [(2, 4, 6), (2, 5, 6)], {}),
    ({"num_heads": 2, "key_dim": 3, "sliding_window": 2}, [(2, 4, 6), (2, 4, 6)], {"use_causal_mask": True}),
    ({"num_heads": 2, "key_dim": 3}, [(2, 4, 6), (2, 5, 6)], {"attention_mask": "random"}),
    ({"num_heads": 2, "key_dim": 3, "kernel_constraint": "unit_norm"}, [(2, 4, 6), (2, 5, 6)], {}),
]


def _inputs(shapes):
    if shapes == "ids":
        return np.random.default_rng(0).integers(0, 7, (3, 4))
    if isinstance(shapes, list):
        return [_rnd(*s, seed=i) for i, s in enumerate(shapes)]
    return _rnd(*shapes)


def _to_ts(x):
    if isinstance(x, list):
        return [ts.tensor(v) for v in x]
    return ts.tensor(x)


def _compare(real_keras, theirs, ours, x, call_kwargs, multi_arg=False):
    tx = [ts.tensor(v) for v in x] if multi_arg else _to_ts(x)
    ours_kwargs = {k: ts.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call_kwargs.items()}
    if multi_arg:
        theirs(*x)
        ours(*tx)
    else:
        theirs(x)
        ours(tx)
    assert [tuple(w.shape) for w in theirs.get_weights()] == [tuple(w.shape) for w in ours.get_weights()]
    # positive weights keep variances (BatchNormalization's moving_variance) valid
    weights = [np.abs(_rnd(*w.shape, seed=7 + i)) * 0.5 + 0.5 for i, w in enumerate(ours.get_weights())]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    a = theirs(*x, **call_kwargs) if multi_arg else theirs(x, **call_kwargs)
    b = ours(*tx, **ours_kwargs) if multi_arg else ours(tx, **ours_kwargs)
    a = a if isinstance(a, (list, tuple)) else [a]
    b = b if isinstance(b, (list, tuple)) else [b]
    assert len(a) == len(b)
    for p, q in zip(a, b):
        np.testing.assert_allclose(_np(q), _np(p), rtol=1e-5, atol=1e-5)
    assert _config_diff(theirs.get_config(), ours.get_config()) == {}


@pytest.mark.parametrize(
    "cls,kwargs,shapes,call_kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_layer_matches_keras(real_keras, cls, kwargs, shapes, call_kwargs):
    x = _inputs(shapes)
    _compare(real_keras, getattr(real_keras.layers, cls)(**kwargs), getattr(L, cls)(**kwargs), x, call_kwargs)
    # config round trip
    ours = getattr(L, cls)(**kwargs)
    again = type(ours).from_config(ours.get_config())
    assert _config_diff(ours.get_config(), again.get_config()) == {}


@pytest.mark.parametrize("kwargs,shapes,call_kwargs", MHA_CASES, ids=[str(i) for i in range(len(MHA_CASES))])
@pytest.mark.parametrize("scores", [False, True])
def test_multi_head_attention_matches_keras(real_keras, kwargs, shapes, call_kwargs, scores):
    x = _inputs(shapes)
    call_kwargs = dict(call_kwargs)
    if call_kwargs.get("attention_mask") == "random":
        mask = np.random.default_rng(3).random((shapes[0][0], shapes[0][1], shapes[1][1])) > 0.3
        mask[0, 0] = False  # an entirely masked row
        call_kwargs["attention_mask"] = mask
    if scores:
        call_kwargs["return_attention_scores"] = True
    theirs, ours = real_keras.layers.MultiHeadAttention(**kwargs), L.MultiHeadAttention(**kwargs)
    _compare(real_keras, theirs, ours, x, call_kwargs, multi_arg=True)


@pytest.mark.parametrize("distinct", [False, True])
def test_multi_head_attention_keras_masks(real_keras, distinct):
    ids = np.array([[1, 2, 0, 0], [3, 1, 2, 0]])
    ids2 = ids[:, ::-1].copy()
    e1, e2 = real_keras.layers.Embedding(5, 6, mask_zero=True), L.Embedding(5, 6, mask_zero=True)
    e1(ids)
    e2(ts.tensor(ids))
    e1.set_weights([_rnd(5, 6, seed=4)])
    e2.set_weights(e1.get_weights())

    def inputs(emb, wrap):
        # Keras's MultiHeadAttention clears its inputs' masks when called: embed afresh for every call
        q = emb(wrap(ids))
        return (q, emb(wrap(ids2))) if distinct else (q, q)

    a, b = real_keras.layers.MultiHeadAttention(2, 3), L.MultiHeadAttention(2, 3)
    a(*inputs(e1, np.asarray))
    b(*inputs(e2, ts.tensor))
    b.set_weights([_rnd(*w.shape, seed=i) for i, w in enumerate(b.get_weights())])
    a.set_weights(b.get_weights())
    out = b(*inputs(e2, ts.tensor))
    np.testing.assert_allclose(_np(out), _np(a(*inputs(e1, np.asarray))), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(_np(out._keras_mask), ids != 0)
    # the masks matter: without them the outputs differ
    plain = b(*[ts.tensor(_np(t)) for t in inputs(e2, ts.tensor)])
    assert np.abs(_np(plain) - _np(out)).max() > 1e-3


GQA_CASES = [
    ({"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}, {}),
    (
        {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 1, "use_gate": True, "use_bias": False},
        {"use_causal_mask": True},
    ),
    (
        {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 2, "sliding_window": 2},
        {"attention_mask": "random"},
    ),
]


@pytest.mark.parametrize("kwargs,call_kwargs", GQA_CASES, ids=[str(i) for i in range(len(GQA_CASES))])
@pytest.mark.parametrize("scores", [False, True])
def test_group_query_attention_matches_keras(real_keras, kwargs, call_kwargs, scores):
    x = [_rnd(2, 4, 6), _rnd(2, 5, 6, seed=1), _rnd(2, 5, 7, seed=2)]
    call_kwargs = dict(call_kwargs)
    if call_kwargs.get("attention_mask") == "random":
        call_kwargs["attention_mask"] = np.random.default_rng(3).random((2, 4, 5)) > 0.3
    if scores:
        call_kwargs["return_attention_scores"] = True
    theirs, ours = real_keras.layers.GroupQueryAttention(**kwargs), L.GroupQueryAttention(**kwargs)
    _compare(real_keras, theirs, ours, x, call_kwargs, multi_arg=True)


def test_reversible_embedding_reverse_matches_keras(real_keras):
    for kwargs in ({}, {"tie_weights": False, "logit_soft_cap": 2.0}):
        theirs, ours = (
            real_keras.layers.ReversibleEmbedding(7, 3, **kwargs),
            L.ReversibleEmbedding(7, 3, **kwargs),
        )
        ids = np.array([[1, 2, 0]])
        theirs(ids)
        ours(ts.tensor(ids))
        weights = [_rnd(*w.shape, seed=i) for i, w in enumerate(ours.get_weights())]
        theirs.set_weights(weights)
        ours.set_weights(weights)
        h = _rnd(2, 4, 3, seed=9)
        np.testing.assert_allclose(
            _np(ours(ts.tensor(h), reverse=True)), _np(theirs(h, reverse=True)), rtol=1e-5, atol=1e-5
        )
        assert ours.compute_output_shape((2, 4, 3), reverse=True) == (2, 4, 7)


def test_spectral_normalization_matches_keras(real_keras):
    x = _rnd(4, 5)
    theirs = real_keras.layers.SpectralNormalization(real_keras.layers.Dense(3), power_iterations=2)
    ours = L.SpectralNormalization(L.Dense(3), power_iterations=2)
    theirs(x)
    ours(ts.tensor(x))
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    weights = [_rnd(*w.shape, seed=i) for i, w in enumerate(ours.get_weights())]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    for training in (False, True, True):
        np.testing.assert_allclose(
            _np(ours(ts.tensor(x), training=training)),
            _np(theirs(x, training=training)),
            rtol=1e-5,
            atol=1e-5,
        )
        for p, q in zip(theirs.get_weights(), ours.get_weights()):
            np.testing.assert_allclose(q, p, rtol=1e-5, atol=1e-6)
    # the kernel's largest singular value tends to 1
    for _ in range(30):
        ours(ts.tensor(x), training=True)
    assert abs(np.linalg.svd(ours.layer.kernel.detach().numpy(), compute_uv=False)[0] - 1) < 1e-3


# -- Lambda ---------------------------------------------------------------------------------------------------
def _double(x):
    return x * 2


def test_lambda_layer(real_keras):
    x = _rnd(2, 3)
    ours = L.Lambda(lambda t, k=1.0: t * k + 1, arguments={"k": 3.0})
    np.testing.assert_allclose(_np(ours(ts.tensor(x))), x * 3 + 1, rtol=1e-6)
    cfg = ours.get_config()
    theirs_cfg = real_keras.layers.Lambda(lambda t, k=1.0: t * k + 1, arguments={"k": 3.0}).get_config()
    assert cfg["function"]["class_name"] == theirs_cfg["function"]["class_name"] == "__lambda__"
    assert cfg["arguments"] == theirs_cfg["arguments"]
    with pytest.raises(ValueError, match="safe_mode=False"):
        L.Lambda.from_config(cfg)
    again = L.Lambda.from_config(cfg, safe_mode=False)
    np.testing.assert_allclose(_np(again(ts.tensor(x))), x * 3 + 1, rtol=1e-6)
    named = L.Lambda(_double, output_shape=(3,))
    ncfg = named.get_config()
    assert ncfg["function"]["class_name"] == "function" and ncfg["function"]["config"] == "_double"
    assert ncfg["output_shape"] == list(
        real_keras.layers.Lambda(_double, output_shape=(3,)).get_config()["output_shape"]
    )
    back = L.Lambda.from_config(ncfg, custom_objects={"_double": _double})
    assert back.function is _double and back.compute_output_shape((None, 3)) == (None, 3)
    # built-in activations are found without custom_objects
    assert L.Lambda.from_config(L.Lambda(tk.activations.relu).get_config()).function is tk.activations.relu


def test_lambda_mask_training_and_symbolic():
    seen = {}

    def fn(x, mask=None, training=None):
        seen["mask"], seen["training"] = mask, training
        return x + 1

    layer = L.Lambda(fn, mask=lambda inputs, mask: ts.ones(inputs.shape[0], dtype=ts.bool))
    out = layer(ts.zeros(3, 2), training=True)
    assert seen["training"] is True and _np(out._keras_mask).all()
    inp = tk.Input((4,))
    y = L.Lambda(lambda t: t[:, :2] * 2)(inp)
    assert y.shape == (None, 2)
    model = tk.Model(inp, y)
    np.testing.assert_allclose(_np(model(ts.ones(3, 4))), 2 * np.ones((3, 2)))


def test_lambda_output_shape_used_when_shape_inference_fails():
    def picky(x):  # fails on the batch-of-one placeholders shape inference runs
        if x.shape[0] == 1:
            raise RuntimeError("picky needs a real batch")
        return x[:, :2] * 3

    inp = tk.Input((4,))
    with pytest.raises(RuntimeError, match="picky"):
        L.Lambda(picky)(inp)
    y = L.Lambda(picky, output_shape=(2,))(inp)
    assert y.shape == (None, 2)
    np.testing.assert_allclose(_np(tk.Model(inp, y)(ts.ones(3, 4))), 3 * np.ones((3, 2)))


# -- symbolic use -------------------------------------------------------------------------------------------
def test_symbolic_functional_model():
    q, v = tk.Input((3, 4)), tk.Input((5, 4))
    att = L.Attention()([q, v])
    mha = L.MultiHeadAttention(2, 2)(att, v)
    h = L.GroupNormalization(groups=2)(mha)
    h = L.RMSNormalization()(h)
    h = L.UnitNormalization()(L.PReLU()(L.ELU()(L.Identity()(h))))
    h = L.SpatialDropout1D(0.3)(L.GaussianNoise(0.1)(h))
    assert h.shape == (None, 3, 4)
    model = tk.Model([q, v], h)
    out = model([ts.tensor(_rnd(2, 3, 4)), ts.tensor(_rnd(2, 5, 4, seed=1))])
    assert tuple(out.shape) == (2, 3, 4)


# -- noise layers: statistics ---------------------------------------------------------------------------------
NOISE = [
    (lambda: L.GaussianNoise(0.5), 1.0, 0.5),
    (lambda: L.GaussianDropout(0.3), 1.0, np.sqrt(0.3 / 0.7)),
    (lambda: L.AlphaDropout(0.2), None, None),
    (lambda: L.SpatialDropout1D(0.4), 1.0, np.sqrt(0.4 / 0.6)),
    (lambda: L.Dropout(0.5, noise_shape=(None, 1, 3)), 1.0, 1.0),
]


@pytest.mark.parametrize("make,mean,std", NOISE)
def test_noise_layer_statistics(make, mean, std):
    ts.manual_seed(0)
    layer = make()
    x = ts.ones(4000, 4, 3)
    y = _np(layer(x, training=True))
    if mean is not None:
        assert abs(y.mean() - mean) < 0.03
    if std is not None:
        assert abs(y.std() - std) < 0.03 * max(std, 1)
    np.testing.assert_array_equal(_np(layer(x, training=False)), _np(x))
    np.testing.assert_array_equal(_np(layer(x)), _np(x)) if not layer.training else None


def test_alpha_dropout_keeps_selu_statistics():
    ts.manual_seed(1)
    x = ts.tensor(np.random.default_rng(0).normal(size=(20000, 8)).astype("float32"))
    y = _np(L.AlphaDropout(0.3)(x, training=True))
    assert abs(y.mean()) < 0.03 and abs(y.std() - 1) < 0.03


def test_spatial_dropout_drops_whole_channels():
    ts.manual_seed(2)
    y = _np(L.SpatialDropout2D(0.5)(ts.ones(8, 5, 5, 6), training=True))
    per_map = y.reshape(8, 25, 6)
    assert ((per_map == 0).all(1) | (per_map == 2).all(1)).all()
    y = _np(L.SpatialDropout2D(0.5, data_format="channels_first")(ts.ones(8, 6, 5, 5), training=True))
    per_map = y.reshape(8, 6, 25)
    assert ((per_map == 0).all(2) | (per_map == 2).all(2)).all()


# -- constraints in training ---------------------------------------------------------------------------------
def test_non_neg_dense_stays_non_negative_after_fit():
    ts.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = (x @ np.array([-1.0, 2.0, -3.0, 0.5, 1.0], "float32"))[:, None]
    model = tk.Sequential(
        [L.Dense(4, kernel_constraint=tk.constraints.NonNeg(), input_shape=(5,)), L.Dense(1)]
    )
    model.compile(optimizer=tk.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    kernel = model.layers[0].kernel.detach().numpy()
    assert (kernel >= 0).all()
    assert model.layers[0].kernel.constraint is not None
    # the same training without the constraint leaves negative weights: the check can fail
    ts.manual_seed(0)
    free = tk.Sequential([L.Dense(4, input_shape=(5,)), L.Dense(1)])
    free.compile(optimizer=tk.optimizers.SGD(0.1), loss="mse")
    free.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert (free.layers[0].kernel.detach().numpy() < 0).any()


def test_max_norm_applied_to_embeddings_after_fit():
    model = tk.Sequential(
        [
            L.Embedding(10, 4, embeddings_constraint=tk.constraints.MaxNorm(0.5, axis=1)),
            L.Flatten(),
            L.Dense(1),
        ]
    )
    model.compile(optimizer=tk.optimizers.Adam(0.5), loss="mse")
    ids = np.random.default_rng(0).integers(0, 10, (32, 3))
    model.fit(ids, np.ones((32, 1), "float32") * 10, epochs=2, verbose=0)
    norms = np.linalg.norm(model.layers[0].embeddings.detach().numpy(), axis=1)
    assert (norms <= 0.5 + 1e-5).all()


def test_custom_layer_add_weight_constraint():
    class Scale(L.Layer):
        def build(self, shape):
            self.add_weight("w", (shape[-1],), initializer="ones", constraint="non_neg")

        def call(self, x):
            return x * self.w

    layer = Scale()
    layer(ts.ones(1, 3))
    assert isinstance(layer.w.constraint, tk.constraints.NonNeg)


# -- errors -------------------------------------------------------------------------------------------------
ERRORS = [
    (lambda: L.Dense(3, kernel_constraint="nope"), ValueError, "Dense: invalid kernel_constraint"),
    (lambda: L.PReLU(shared_axes=[0]), ValueError, "PReLU: shared_axes"),
    (lambda: L.PReLU(shared_axes=[3])(ts.ones(2, 3)), ValueError, "PReLU .*shared axis 3"),
    (lambda: L.Lambda(3), TypeError, "Lambda: function must be callable"),
    (lambda: L.Attention(score_mode="add"), ValueError, "score_mode"),
    (lambda: L.Attention()(ts.ones(2, 3, 4)), ValueError, "Attention layer must be called on a list"),
    (lambda: L.Attention()([ts.ones(2, 3, 4)]), ValueError, "length 2 or 3"),
    (lambda: L.Attention()([ts.ones(2, 3, 4), ts.ones(2, 5, 3)]), ValueError, "same last dimension"),
    (lambda: L.MultiHeadAttention(0, 2), ValueError, "num_heads"),
    (lambda: L.MultiHeadAttention(2, 2, attention_axes="x"), ValueError, "attention_axes"),
    (lambda: L.MultiHeadAttention(2, 2, sliding_window=0), ValueError, "sliding_window"),
    (
        lambda: L.MultiHeadAttention(2, 2)(ts.ones(2, 3, 4), ts.ones(2, 5, 4), key=ts.ones(2, 6, 4)),
        ValueError,
        "value.*key",
    ),
    (
        lambda: L.MultiHeadAttention(2, 2, attention_axes=3)(ts.ones(2, 3, 4), ts.ones(2, 3, 4)),
        ValueError,
        "out of range",
    ),
    (
        lambda: L.MultiHeadAttention(2, 2, flash_attention=True)(
            ts.ones(2, 3, 4), ts.ones(2, 3, 4), return_attention_scores=True
        ),
        ValueError,
        "flash attention",
    ),
    (lambda: L.GroupNormalization(groups=0), ValueError, "groups"),
    (lambda: L.GroupNormalization(groups=4)(ts.ones(2, 6)), ValueError, "multiple"),
    (lambda: L.GroupNormalization(groups=8)(ts.ones(2, 6)), ValueError, "cannot be more"),
    (lambda: L.RMSNormalization(axis=5)(ts.ones(2, 6)), ValueError, "RMSNormalization .*out of bounds"),
    (lambda: L.UnitNormalization(axis="x"), TypeError, "UnitNormalization"),
    (lambda: L.SpectralNormalization(L.Dense(2), power_iterations=0), ValueError, "power_iterations"),
    (lambda: L.SpectralNormalization(L.Flatten())(ts.ones(2, 3)), ValueError, "nor 'embeddings'"),
    (lambda: L.GaussianNoise(2.0), ValueError, "GaussianNoise: .*stddev"),
    (lambda: L.GaussianDropout(-0.1), ValueError, "GaussianDropout: .*rate"),
    (
        lambda: L.AlphaDropout(0.2, noise_shape=[None, 5])(ts.ones(2, 3), training=True),
        ValueError,
        "noise_shape",
    ),
    (lambda: L.SpatialDropout1D(0.2)(ts.ones(2, 3)), ValueError, "SpatialDropout1D"),
    (lambda: L.SpatialDropout2D(0.2, data_format="nhwc"), ValueError, "data_format"),
    (lambda: L.Dropout(0.2, noise_shape=3), ValueError, "noise_shape"),
    (lambda: L.ELU(alpha="a"), ValueError, "ELU: alpha"),
    (lambda: L.BatchNormalization(renorm=True), NotImplementedError, "renorm"),
    (lambda: L.EinsumDense("ab->b", 3), ValueError, "invalid einsum equation"),
    (lambda: L.EinsumDense("ab,bc->ac", 3, bias_axes="x")(ts.ones(2, 4)), ValueError, "bias dimension 'x'"),
    (lambda: L.EinsumDense("ab,bcd->acd", (3,))(ts.ones(2, 4)), ValueError, "output_shape"),
    (lambda: L.EinsumDense("ab,bc->ad", 3)(ts.ones(2, 4)), ValueError, "no corresponding dim"),
    (lambda: L.GroupQueryAttention(2, 3, 2), ValueError, "divisible"),
    (
        lambda: L.GroupQueryAttention(2, 2, 2, dropout=0.1, flash_attention=True),
        ValueError,
        "flash attention",
    ),
    (lambda: L.ReversibleEmbedding(5, 3)(ts.ones(2, 4), reverse=True), ValueError, "last dimension of 3"),
]


@pytest.mark.parametrize("fn,exc,match", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


# -- gradients: float64 finite differences through the layers -------------------------------------------------
GRAD_CASES = [
    (lambda: L.PReLU(alpha_initializer=tk.initializers.Constant(0.3), dtype="float64"), (2, 3)),
    (lambda: L.ELU(0.7, dtype="float64"), (2, 3)),
    (lambda: L.EinsumDense("abc,cde->abde", (None, 2, 2), bias_axes="de", dtype="float64"), (2, 3, 3)),
    (lambda: L.GroupNormalization(groups=2, dtype="float64"), (2, 3, 4)),
    (lambda: L.RMSNormalization(dtype="float64"), (2, 3, 4)),
    (lambda: L.UnitNormalization(dtype="float64"), (2, 4)),
    (lambda: L.LayerNormalization(rms_scaling=True, dtype="float64"), (2, 4)),
]


@pytest.mark.parametrize("make,shape", GRAD_CASES, ids=[str(i) for i in range(len(GRAD_CASES))])
def test_layer_input_gradient_finite_differences(make, shape):
    layer = make()  # float64 weights, for a precise check
    x0 = np.random.default_rng(5).normal(size=shape)
    layer(ts.tensor(x0, dtype=ts.float64))
    w = np.random.default_rng(6).normal(size=tuple(_np(layer(ts.tensor(x0, dtype=ts.float64))).shape))
    x = ts.tensor(x0, dtype=ts.float64, requires_grad=True)
    (layer(x) * ts.tensor(w)).sum().backward()

    def f(a):
        return float((_np(layer(ts.tensor(a, dtype=ts.float64))) * w).sum())

    num = np.zeros_like(x0)
    for idx in np.ndindex(*shape):
        d = np.zeros_like(x0)
        d[idx] = 1e-6
        num[idx] = (f(x0 + d) - f(x0 - d)) / 2e-6
    np.testing.assert_allclose(_np(x.grad), num, rtol=1e-4, atol=1e-6)


def test_attention_gradients_flow_to_all_weights():
    for layer, args in (
        (
            L.Attention(use_scale=True, score_mode="concat"),
            ([ts.tensor(_rnd(2, 3, 4)), ts.tensor(_rnd(2, 5, 4))],),
        ),
        (L.AdditiveAttention(), ([ts.tensor(_rnd(2, 3, 4)), ts.tensor(_rnd(2, 5, 4))],)),
        (L.GroupQueryAttention(2, 4, 2, use_gate=True), (ts.tensor(_rnd(2, 3, 4)), ts.tensor(_rnd(2, 5, 4)))),
        (
            L.MultiHeadAttention(2, 2, attention_axes=(1, 2)),
            (ts.tensor(_rnd(2, 3, 2, 4)), ts.tensor(_rnd(2, 3, 2, 4))),
        ),
    ):
        layer(*args).sum().backward()
        assert layer.trainable_weights and all(w.grad is not None for w in layer.trainable_weights), (
            layer.name
        )


OUTPUT_SHAPES = [
    ("MultiHeadAttention", (2, 2), {}, ((None, 3, 4), (None, 5, 4))),
    ("MultiHeadAttention", (2, 2), {"output_shape": (3, 2)}, ((None, 3, 4), (None, 5, 4))),
    ("GroupQueryAttention", (2, 2, 1), {}, ((None, 3, 4), (None, 5, 4))),
    ("Attention", (), {}, ([(None, 3, 4), (None, 5, 6)],)),
    ("AdditiveAttention", (), {}, ([(None, 3, 4), (None, 5, 4)],)),
    ("EinsumDense", ("abc,cd->abd", (None, 7)), {}, ((None, 3, 4),)),
    ("EinsumDense", ("...b,bc->...c", 5), {"bias_axes": "c"}, ((None, 2, 3, 4),)),
    ("ReversibleEmbedding", (10, 4), {}, ((None, 3),)),
    ("GroupNormalization", (), {"groups": 2}, ((None, 3, 4),)),
    ("UnitNormalization", (), {}, ((None, 3, 4),)),
    ("RMSNormalization", (), {"axis": [1, 2]}, ((None, 3, 4),)),
    ("PReLU", (), {"shared_axes": [1]}, ((None, 3, 4),)),
]


@pytest.mark.parametrize("cls,args,kwargs,shapes", OUTPUT_SHAPES, ids=[c[0] for c in OUTPUT_SHAPES])
def test_compute_output_shape_matches_keras(real_keras, cls, args, kwargs, shapes):
    theirs = getattr(real_keras.layers, cls)(*args, **kwargs).compute_output_shape(*shapes)
    ours = getattr(L, cls)(*args, **kwargs).compute_output_shape(*shapes)
    assert tuple(ours) == tuple(theirs)


def test_model_with_new_layers_saves_and_loads(tmp_path):
    inp = tk.Input((3, 4))
    h = L.EinsumDense("abc,cd->abd", (None, 6), bias_axes="d", kernel_constraint="max_norm")(inp)
    h = L.MultiHeadAttention(2, 3, attention_axes=(1,))(h, h)
    h = L.GroupQueryAttention(2, 2, 1)(h, h)
    h = L.PReLU(shared_axes=[1])(L.RMSNormalization()(L.GroupNormalization(groups=2)(h)))
    h = L.SpectralNormalization(L.Dense(5))(h)
    h = L.AlphaDropout(0.1)(L.SpatialDropout1D(0.1)(L.GaussianNoise(0.1)(h)))
    model = tk.Model(inp, L.Lambda(tk.activations.relu)(h))
    x = ts.tensor(_rnd(2, 3, 4))
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = tk.saving.load_model(path)
    model.eval()
    again.eval()
    np.testing.assert_allclose(_np(again(x)), _np(model(x)), rtol=1e-6, atol=1e-6)
    assert isinstance(again.layers[1].kernel.constraint, tk.constraints.MaxNorm)


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: L.GaussianNoise(0.5, seed=seed),
        lambda seed: L.GaussianDropout(0.3, seed=seed),
        lambda seed: L.AlphaDropout(0.2, seed=seed),
        lambda seed: L.SpatialDropout1D(0.4, seed=seed),
        lambda seed: L.Dropout(0.5, seed=seed),
    ],
)
def test_noise_layer_seed_repeats_the_sequence(make):
    x = ts.ones(3, 4, 5)
    a, b = make(7), make(7)
    first = _np(a(x, training=True))
    np.testing.assert_array_equal(first, _np(b(x, training=True)))  # same seed, same draws
    assert not np.array_equal(first, _np(a(x, training=True)))  # the generator advances
    assert not np.array_equal(first, _np(make(8)(x, training=True)))
