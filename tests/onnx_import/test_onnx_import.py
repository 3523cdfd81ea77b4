"""ts.onnx import (tessera.onnx.importer.load): outputs vs onnxruntime, compiled, fine-tuning, gradients,
the backend-suite subset, and input validation."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import tessera as ts  # noqa: E402
from tessera.onnx.importer import OnnxModule, load  # noqa: E402

RNG = np.random.default_rng(0)


def _ort(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _np(t):
    return t.detach().numpy()


def _mlp_model(opset=17):
    w1 = RNG.standard_normal((4, 8)).astype(np.float32) * 0.5
    b1 = RNG.standard_normal(8).astype(np.float32) * 0.1
    w2 = RNG.standard_normal((3, 8)).astype(np.float32) * 0.5
    b2 = np.zeros(3, np.float32)
    shape = np.array([0, -1], np.int64)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Add", ["h", "b1"], ["h1"]),
        helper.make_node("Tanh", ["h1"], ["a"]),
        helper.make_node("Gemm", ["a", "w2", "b2"], ["o"], transB=1, alpha=1.0),
        helper.make_node("Shape", ["o"], ["s"]),
        helper.make_node("Reshape", ["o", "shape"], ["y"]),
    ]
    inits = [
        numpy_helper.from_array(v, n)
        for n, v in [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("shape", shape)]
    ]
    g = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        inits,
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _cnn_model():
    c_w = RNG.standard_normal((4, 2, 3, 3)).astype(np.float32) * 0.3
    c_b = RNG.standard_normal(4).astype(np.float32) * 0.1
    scale = RNG.uniform(0.5, 1.5, 4).astype(np.float32)
    bias = RNG.standard_normal(4).astype(np.float32) * 0.1
    mean = RNG.standard_normal(4).astype(np.float32) * 0.1
    var = RNG.uniform(0.5, 1.5, 4).astype(np.float32)
    fc = RNG.standard_normal((4 * 3 * 2, 5)).astype(np.float32) * 0.2
    axes = np.array([1], np.int64)
    nodes = [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"], pads=[1, 0, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c", "sc", "bi", "mu", "va"], ["bn"], epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("MatMul", ["f", "fc"], ["l"]),
        helper.make_node("Softmax", ["l"], ["sm"], axis=-1),
        helper.make_node("ReduceMax", ["l", "axes"], ["mx"], keepdims=0),
    ]
    inits = [
        numpy_helper.from_array(v, n)
        for n, v in [
            ("cw", c_w), ("cb", c_b), ("sc", scale), ("bi", bias), ("mu", mean), ("va", var), ("fc", fc),
            ("axes", axes),
        ]
    ]  # fmt: skip
    g = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2, 6, 5])],
        [
            helper.make_tensor_value_info("sm", TensorProto.FLOAT, [2, 5]),
            helper.make_tensor_value_info("mx", TensorProto.FLOAT, [2]),
        ],
        inits,
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])


def test_mlp_matches_onnxruntime_and_parameters():
    model = _mlp_model()
    m = load(model)
    assert isinstance(m, OnnxModule) and isinstance(m, ts.nn.Module)
    # float weights become parameters, the int64 shape stays a constant
    assert sorted(m.onnx_params) == ["b1", "b2", "w1", "w2"]
    assert all(p.requires_grad for p in m.parameters())
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    (ref,) = _ort(model, {"x": x})
    np.testing.assert_allclose(_np(m(ts.tensor(x))), ref, rtol=1e-5, atol=1e-5)


def test_docstring_examples_run():
    import doctest

    import tessera.onnx.importer as importer

    res = doctest.testmod(importer, extraglobs={"ts": ts}, optionflags=doctest.ELLIPSIS)
    assert res.attempted >= 4 and res.failed == 0


def test_static_float_inputs_stay_constants():
    m = load(GRAD_CASES["Resize"]())  # roi and scales are float initializers, read as static arguments
    assert list(m.parameters()) == []
    m = load(GRAD_CASES["Conv"]())
    assert sorted(m.onnx_params) == ["b", "w"]


def test_load_from_path_and_bytes(tmp_path):
    model = _mlp_model()
    path = tmp_path / "mlp.onnx"
    onnx.save(model, str(path))
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    (ref,) = _ort(model, {"x": x})
    for src in (str(path), path, model.SerializeToString()):
        np.testing.assert_allclose(_np(load(src)(ts.tensor(x))), ref, rtol=1e-5, atol=1e-5)


def test_cnn_matches_onnxruntime_eager_and_compiled():
    model = _cnn_model()
    m = load(model)
    x = RNG.standard_normal((2, 2, 6, 5)).astype(np.float32)
    ref = _ort(model, {"x": x})
    out = m(ts.tensor(x))
    for o, r in zip(out, ref):
        np.testing.assert_allclose(_np(o), r, rtol=1e-5, atol=1e-5)
    import warnings

    cm = ts.compile(m)
    with ts.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")  # no graph break, no eager fallback
        for _ in range(2):
            cout = cm(ts.tensor(x))
            for o, r in zip(cout, ref):
                np.testing.assert_allclose(_np(o), r, rtol=1e-5, atol=1e-5)


def test_compiled_mlp_has_no_graph_break():
    import warnings

    m = load(_mlp_model())
    cm = ts.compile(m)
    x = ts.randn(6, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = cm(x)
    np.testing.assert_allclose(_np(y), _np(m(x)), rtol=1e-5, atol=1e-6)


def _loss(m, x, t):
    return ((m(x) - t) ** 2).mean()


def test_finetune_mlp_loss_decreases_and_gradients_match_finite_differences():
    m = load(_mlp_model())
    x = ts.tensor(RNG.standard_normal((16, 4)).astype(np.float32))
    t = ts.tensor(RNG.standard_normal((16, 3)).astype(np.float32))
    # gradients vs central finite differences (float64 copy of the model)
    m64 = load(_mlp_model())
    for p in m64.parameters():
        p.data = p.data.to(ts.float64)
    x64, t64 = x.to(ts.float64), t.to(ts.float64)
    m64.zero_grad()
    _loss(m64, x64, t64).backward()
    eps = 1e-6
    for name, p in m64.onnx_params.items():
        g = p.grad.numpy().reshape(-1)
        base = p.data.numpy().copy()
        for i in range(0, base.size, max(1, base.size // 5)):
            for sign, store in ((1, "plus"), (-1, "minus")):
                pert = base.copy().reshape(-1)
                pert[i] += sign * eps
                p.data = ts.tensor(pert.reshape(base.shape))
                with ts.no_grad():
                    val = float(_loss(m64, x64, t64).item())
                if store == "plus":
                    plus = val
                else:
                    minus = val
            p.data = ts.tensor(base)
            fd = (plus - minus) / (2 * eps)
            assert abs(fd - g[i]) < 1e-5 * max(1.0, abs(fd)), (name, i, fd, g[i])
    opt = ts.optim.SGD(m.parameters(), lr=0.1)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = _loss(m, x, t)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert losses[-1] < losses[0] * 0.9


def test_cnn_gradients_match_torch():
    torch = pytest.importorskip("torch")
    model = _cnn_model()
    m = load(model)
    x_np = RNG.standard_normal((2, 2, 6, 5)).astype(np.float32)
    x = ts.tensor(x_np, requires_grad=True)
    sm, mx = m(x)
    (sm.sum() * 0 + (sm * sm).sum() + mx.sum()).backward()
    p = {k: torch.tensor(v.detach().numpy(), requires_grad=True) for k, v in m.onnx_params.items()}
    xt = torch.tensor(x_np, requires_grad=True)
    c = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, [0, 1, 1, 1]), p["cw"], p["cb"])
    bn = (c - p["mu"].view(1, -1, 1, 1)) / torch.sqrt(p["va"].view(1, -1, 1, 1) + 1e-3)
    bn = bn * p["sc"].view(1, -1, 1, 1) + p["bi"].view(1, -1, 1, 1)
    pooled = torch.nn.functional.max_pool2d(torch.relu(bn), 2, 2, ceil_mode=True)
    logits = pooled.flatten(1) @ p["fc"]
    tsm = torch.softmax(logits, -1)
    ((tsm * tsm).sum() + logits.max(-1).values.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for k, v in m.onnx_params.items():
        np.testing.assert_allclose(v.grad.numpy(), p[k].grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


def test_torch_exported_model_matches_onnxruntime(tmp_path):
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4)
            self.fc = torch.nn.Linear(4 * 4 * 4, 6)
            self.ln = torch.nn.LayerNorm(6)

        def forward(self, x):
            h = torch.nn.functional.avg_pool2d(torch.relu(self.bn(self.conv(x))), 2)
            return torch.nn.functional.gelu(self.ln(self.fc(h.flatten(1))))

    torch.manual_seed(0)
    net = Net().eval()
    x = torch.randn(2, 3, 8, 8)
    path = tmp_path / "net.onnx"
    try:
        torch.onnx.export(net, (x,), str(path), dynamo=False, opset_version=17)
    except Exception as exc:  # noqa: BLE001 - exporter dependencies (onnxscript) may be missing
        pytest.skip(f"torch.onnx.export unavailable: {exc}")
    model = onnx.load(str(path))
    (ref,) = _ort(model, {model.graph.input[0].name: x.numpy()})
    m = load(str(path))
    np.testing.assert_allclose(_np(m(ts.tensor(x.numpy()))), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ref, net(x).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_lstm_matches_onnxruntime():
    t_, b, i, h = 5, 2, 3, 4
    w = RNG.standard_normal((2, 4 * h, i)).astype(np.float32) * 0.5
    r = RNG.standard_normal((2, 4 * h, h)).astype(np.float32) * 0.5
    bias = RNG.standard_normal((2, 8 * h)).astype(np.float32) * 0.1
    g = helper.make_graph(
        [
            helper.make_node(
                "LSTM", ["x", "w", "r", "b"], ["y", "yh", "yc"], hidden_size=h, direction="bidirectional"
            )
        ],  # fmt: skip
        "lstm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [t_, b, i])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "yh", "yc")],
        [
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(r, "r"),
            numpy_helper.from_array(bias, "b"),
        ],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    x = RNG.standard_normal((t_, b, i)).astype(np.float32)
    ref = _ort(model, {"x": x})
    out = load(model)(ts.tensor(x))
    for o, rr in zip(out, ref):
        np.testing.assert_allclose(_np(o), rr, rtol=1e-5, atol=1e-5)


def test_errors_name_function_argument_and_node():
    with pytest.raises(TypeError, match=r"ts.onnx.load: path_or_model"):
        load(3.5)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load("/nonexistent/model.onnx")
    g = helper.make_graph(
        [helper.make_node("FancyOp", ["x"], ["y"], name="n0")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    with pytest.raises(NotImplementedError, match=r"'n0'.*FancyOp"):
        load(helper.make_model(g))
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "ghost"], ["y"], name="n1")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    with pytest.raises(ValueError, match=r"'n1' \(Add\): input 'ghost'"):
        load(helper.make_model(g))
    m = load(_mlp_model())
    with pytest.raises(TypeError, match="OnnxModule.forward: missing inputs"):
        m()
    with pytest.raises(TypeError, match="OnnxModule.forward: unknown input"):
        m(z=ts.randn(1, 4))
    with pytest.raises(ValueError, match=r"OnnxModule.forward: input 'x' must have rank 2.*\(3,\)"):
        m(ts.randn(3))
    with pytest.raises(
        RuntimeError, match=r"OnnxModule.forward: node 'h' \(MatMul, opset 17\), input shapes"
    ):
        m(ts.randn(2, 5))


def test_compiled_module_gradients_match_eager():
    m = load(_mlp_model())
    cm = ts.compile(m)
    x = ts.tensor(RNG.standard_normal((4, 4)).astype(np.float32))
    grads = []
    for fn in (m, cm, cm):
        m.zero_grad()
        (fn(x) ** 2).sum().backward()
        grads.append({k: p.grad.numpy().copy() for k, p in m.onnx_params.items()})
    for g in grads[1:]:
        for k in g:
            np.testing.assert_allclose(g[k], grads[0][k], rtol=1e-5, atol=1e-6, err_msg=k)


# A fixed subset of onnx's backend node cases (names without the _cpu suffix).
SUBSET = [
    "abs",
    "add_bcast",
    "averagepool_2d_pads",
    "averagepool_2d_ceil",
    "batchnorm_epsilon",
    "cast_FLOAT_to_DOUBLE",
    "concat_3d_axis_negative_1",
    "conv_with_strides_and_asymmetric_padding",
    "convtranspose_pads",
    "cumsum_2d_axis_0",
    "einsum_batch_matmul",
    "expand_dim_changed",
    "flatten_axis2",
    "gather_2d_indices",
    "gathernd_example_int32_batch_dim1",
    "gemm_all_attributes",
    "globalaveragepool",
    "gru_defaults",
    "instancenorm_example",
    "layer_normalization_4d_axis1",
    "leakyrelu",
    "logsoftmax_axis_1",
    "lstm_with_peepholes",
    "matmul_4d",
    "maxpool_2d_same_upper",
    "maxpool_with_argmax_2d_precomputed_strides",
    "constant_pad",
    "edge_pad",
    "reduce_sum_keepdims_example",
    "reduce_log_sum_exp_do_not_keepdims_example",
    "reshape_negative_dim",
    "resize_upsample_scales_linear",
    "resize_downsample_sizes_cubic",
    "rnn_seq_length",
    "scatter_elements_with_negative_indices",
    "slice_neg_steps",
    "softmax_axis_0",
    "split_equal_parts_1d_opset18",
    "squeeze_negative_axes",
    "tile",
    "top_k_smallest",
    "transpose_all_permutations_3",
    "unsqueeze_three_axes",
    "where_example",
    "argmax_keepdims_example_select_last_index",
    "sce_mean_weight_ii",
    "nllloss_NCd1d2_with_weight_reduction_mean",
    "attention_4d_gqa",
    "rms_normalization_3d_axis1_epsilon",
    "gridsample_bilinear",
    "loop11",
    "scan9_sum",
    "if",
    "range_float_type_positive_delta_expanded",
    "dequantizelinear_axis",
    "mod_mixed_sign_int32",
    "pow_types_int64_float32",
]


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_backend_subset_passes(compiled):
    import unittest

    from benchmarks.onnx_backend import node_cases, tessera_backend

    patterns = [f"^test_{n}_cpu$" for n in SUBSET]
    cases = node_cases(tessera_backend(compiled), patterns)
    assert len(cases) == len(SUBSET)
    failed = []
    for case in cases:
        result = unittest.TestResult()
        case.run(result)
        if not result.wasSuccessful() or result.skipped:
            failed.append((case._testMethodName, (result.errors + result.failures)[:1]))
    assert not failed, failed


@pytest.mark.slow
def test_backend_suite_reaches_target():
    from benchmarks.onnx_backend import run_cases, tessera_backend

    ok, bad = run_cases(tessera_backend())
    assert len(ok) >= 1288, (len(ok), len(ok) + len(bad))


def _one_node(op_type, x_shape, extra_inits=(), opset=21, n_out=1, **attrs):
    """A float64 one-node model: input x, float initializers, the op's first output y."""
    names = ["x"] + [n for n, _ in extra_inits]
    ins = [helper.make_tensor_value_info("x", TensorProto.DOUBLE, list(x_shape))]
    outs = [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)]
    out_names = ["y"] + [f"aux{i}" for i in range(n_out - 1)]
    node = helper.make_node(op_type, names, out_names, **attrs)
    inits = [numpy_helper.from_array(v, n) for n, v in extra_inits]
    g = helper.make_graph([node], op_type, ins, outs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _f64(*shape, scale=1.0):
    return RNG.standard_normal(shape) * scale


GRAD_CASES = {
    "Conv": lambda: _one_node(
        "Conv", (1, 2, 5, 5), [("w", _f64(3, 2, 3, 3)), ("b", _f64(3))], pads=[1, 0, 0, 1], strides=[2, 1]
    ),
    "ConvTranspose": lambda: _one_node(
        "ConvTranspose", (1, 2, 3, 3), [("w", _f64(2, 3, 3, 3))], strides=[2, 2], output_padding=[1, 0]
    ),
    "AveragePool": lambda: _one_node(
        "AveragePool", (1, 2, 5, 5), kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2], ceil_mode=1
    ),
    "MaxPool": lambda: _one_node("MaxPool", (1, 1, 5, 4), kernel_shape=[2, 2], auto_pad="SAME_UPPER"),
    "LayerNormalization": lambda: _one_node(
        "LayerNormalization", (2, 3, 4), [("s", _f64(3, 4)), ("b", _f64(3, 4))], axis=1
    ),
    "Resize": lambda: _one_node(
        "Resize", (1, 1, 3, 4), [("roi", np.zeros(0)), ("scales", np.array([1, 1, 2.0, 1.5]))], mode="cubic"
    ),
    "Softmax": lambda: _one_node("Softmax", (3, 5), axis=0),
    "Pad": lambda: _one_node("Pad", (2, 4), [("pads", np.array([1, 2, 1, 0]))], mode="reflect"),
    "GRU": lambda: _one_node(
        "GRU", (3, 2, 2), [("W", _f64(1, 9, 2)), ("R", _f64(1, 9, 3)), ("B", _f64(1, 18))], hidden_size=3,
        linear_before_reset=1,
    ),
    "LSTM": lambda: _one_node(
        "LSTM", (3, 2, 2), [("W", _f64(2, 12, 2)), ("R", _f64(2, 12, 3)), ("B", _f64(2, 24))], hidden_size=3,
        direction="bidirectional",
    ),
    "Einsum": lambda: _one_node("Einsum", (2, 3), [("w", _f64(3, 4))], equation="ij,jk->ik"),
    "ReduceLogSumExp": lambda: _one_node("ReduceLogSumExp", (3, 4), [("axes", np.array([1]))], keepdims=0),
    "CumSum": lambda: _one_node("CumSum", (4, 3), [("axis", np.array(0))], exclusive=1, reverse=1),
}  # fmt: skip


def _as_float32(model):
    """The same model in float32 (onnxruntime lacks float64 kernels for several ops)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for vi in list(m.graph.input) + list(m.graph.output):
        if vi.type.tensor_type.elem_type == TensorProto.DOUBLE:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
    for i, init in enumerate(m.graph.initializer):
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float64:
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(arr.astype(np.float32), init.name))
    return m


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_imported_op_gradients_match_finite_differences(name):
    model = GRAD_CASES[name]()
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x_np = RNG.standard_normal(shape)
    # outputs vs onnxruntime (float32 copy of the model), then gradients in float64
    m32 = _as_float32(model)
    x32 = x_np.astype(np.float32)
    ref = _ort(m32, {"x": x32})[0]
    out = load(m32)(ts.tensor(x32))
    out = out[0] if isinstance(out, tuple) else out
    np.testing.assert_allclose(_np(out), ref, rtol=1e-5, atol=1e-5)
    m = load(model)
    w = RNG.standard_normal(ref.shape)

    def f(x_arr):
        with ts.no_grad():
            o = m(ts.tensor(x_arr))
            o = o[0] if isinstance(o, tuple) else o
            return float((o * ts.tensor(w)).sum().item())

    x = ts.tensor(x_np, requires_grad=True)
    o = m(x)
    o = o[0] if isinstance(o, tuple) else o
    (o * ts.tensor(w)).sum().backward()
    g = x.grad.numpy().reshape(-1)
    eps = 1e-6
    for i in range(0, x_np.size, max(1, x_np.size // 7)):
        d = np.zeros(x_np.size)
        d[i] = eps
        fd = (f(x_np + d.reshape(shape)) - f(x_np - d.reshape(shape))) / (2 * eps)
        assert abs(fd - g[i]) < 1e-5 * max(1.0, abs(fd)), (name, i, fd, g[i])
    # float initializers are parameters and receive gradients too
    for p in m.parameters():
        assert p.grad is not None and np.isfinite(p.grad.numpy()).all()


def test_torch_exported_attention_with_dynamic_axes(tmp_path):
    """Shape -> Gather -> Concat -> Reshape arithmetic: folded on the host, so new sizes work and the
    compiled module has no graph break."""
    import warnings

    torch = pytest.importorskip("torch")

    class Attn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = torch.nn.Linear(16, 48)
            self.out = torch.nn.Linear(16, 16)
            self.ln = torch.nn.LayerNorm(16)

        def forward(self, x):
            b, s, d = x.shape
            qkv = self.qkv(x).reshape(b, s, 3, 4, d // 4).permute(2, 0, 3, 1, 4)
            a = torch.softmax(qkv[0] @ qkv[1].transpose(-1, -2) / 2.0, -1) @ qkv[2]
            return self.ln(x + self.out(a.transpose(1, 2).reshape(b, s, d)))

    torch.manual_seed(0)
    path = tmp_path / "attn.onnx"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Attn().eval(), (torch.randn(2, 5, 16),), str(path), dynamo=False, opset_version=17,
                input_names=["x"], dynamic_axes={"x": {0: "b", 1: "s"}},
            )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - exporter dependencies may be missing
        pytest.skip(f"torch.onnx.export unavailable: {exc}")
    m = load(str(path))
    assert len(list(m.parameters())) == 6
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    cm = ts.compile(m)
    for shape in [(2, 5, 16), (3, 7, 16)]:
        x = RNG.standard_normal(shape).astype(np.float32)
        (ref,) = sess.run(None, {"x": x})
        np.testing.assert_allclose(_np(m(ts.tensor(x))), ref, rtol=1e-5, atol=1e-5)
        with ts.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(2):
                np.testing.assert_allclose(_np(cm(ts.tensor(x))), ref, rtol=1e-5, atol=1e-5)
