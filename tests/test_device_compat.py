"""Device queries (ts.cuda/mps/accelerator/backends), process-level switches, legacy constructors, memory
formats, fast import, and in-place writes into expanded tensors, checked against PyTorch."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts


def _outcome(fn):
    """(exception type name, message) or ("ok", value) of calling ``fn``."""
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001
        # the builtin class it is (Tessera's CUDA error is an AssertionError, as PyTorch's, and a RuntimeError)
        return next(c.__name__ for c in type(e).__mro__ if c.__module__ == "builtins"), str(e)


# -- device namespaces ----------------------------------------------------------------------------------
QUERIES = [
    "accelerator.is_available()",
    "accelerator.current_accelerator()",
    "accelerator.device_count()",
    "accelerator.current_device_index()",
    "accelerator.set_device_index(0)",
    "accelerator.synchronize()",
    "cuda.is_available()",
    "cuda.device_count()",
    "cuda.is_initialized()",
    "cuda.manual_seed(1)",
    "cuda.manual_seed_all(1)",
    "cuda.seed()",
    "cuda.seed_all()",
    "cuda.synchronize()",
    "cuda.current_device()",
    "cuda.get_device_name()",
    "cuda.get_device_name(0)",
    "cuda.get_device_capability()",
    "cuda.get_device_properties(0)",
    "cuda.init()",
    "cuda.empty_cache()",
    "cuda.memory_allocated()",
    "cuda.max_memory_allocated()",
    "cuda.memory_reserved()",
    "cuda.is_bf16_supported()",
    "cuda.get_arch_list()",
    "cuda.initial_seed()",
    "cuda.get_rng_state()",
    "cuda.current_stream()",
    "cuda.mem_get_info()",
    "cuda.Stream()",
    "mps.is_available()",
    "mps.device_count()",
    "mps.manual_seed(1)",
    "mps.synchronize()",
    "mps.empty_cache()",
    "mps.current_allocated_memory()",
    "backends.cudnn.enabled",
    "backends.cudnn.benchmark",
    "backends.cudnn.deterministic",
    "backends.cudnn.allow_tf32",
    "backends.cudnn.is_available()",
    "backends.cudnn.version()",
    "backends.cuda.matmul.allow_tf32",
    "backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
    "backends.cuda.is_built()",
    "backends.cuda.flash_sdp_enabled()",
    "backends.mps.is_available()",
    "backends.mps.is_built()",
    "backends.mkldnn.enabled",
    "backends.openmp.is_available()",
    "backends.opt_einsum.is_available()",
    "backends.opt_einsum.strategy",
    "onnx.is_in_onnx_export()",
]


@needs_torch
@pytest.mark.parametrize("expr", QUERIES)
def test_device_queries_match_torch(expr):
    got = _outcome(lambda: eval("ts." + expr))
    ref = _outcome(lambda: eval("torch." + expr))
    assert got[0] == ref[0], (got, ref)
    if ref[0] == "ok":
        assert got[1] == ref[1] or (got[1] is None and ref[1] is None)
    else:
        # the same message, with the framework's name where PyTorch writes its own
        assert got[1] == ref[1], (got, ref)


def test_backend_flags_settable_and_checked():
    ts.backends.cudnn.benchmark = True
    try:
        assert ts.backends.cudnn.benchmark is True
        with ts.backends.cudnn.flags(enabled=False, deterministic=True):
            assert ts.backends.cudnn.enabled is False and ts.backends.cudnn.deterministic is True
        assert ts.backends.cudnn.enabled is True and ts.backends.cudnn.deterministic is False
    finally:
        ts.backends.cudnn.benchmark = False
    with pytest.raises(AttributeError, match="Unknown attribute foo"):
        ts.backends.cuda.matmul.foo = 1
    with pytest.raises(AttributeError, match="Unknown attribute foo"):
        ts.backends.cudnn.foo  # noqa: B018


def test_matmul_precision_and_tf32_flag_agree():
    assert ts.get_float32_matmul_precision() == "highest"
    try:
        ts.set_float32_matmul_precision("high")
        assert ts.backends.cuda.matmul.allow_tf32 is True
        ts.backends.cuda.matmul.allow_tf32 = False
        assert ts.get_float32_matmul_precision() == "highest"
        with pytest.warns(UserWarning, match="foo is not one of 'highest', 'high', or 'medium'"):
            ts.set_float32_matmul_precision("foo")
        assert ts.get_float32_matmul_precision() == "highest"
    finally:
        ts.set_float32_matmul_precision("highest")


def test_cuda_amp_is_disabled_with_warning():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        ac = ts.cuda.amp.autocast()
    with ac:
        assert not ts.is_autocast_enabled("cuda")
    with pytest.warns(UserWarning, match="not available"):
        assert not ts.cuda.amp.GradScaler().is_enabled()


# -- devices and tensor properties ---------------------------------------------------------------------
@needs_torch
def test_device_parsing_matches_torch():
    for spec in ("cpu", "cuda", "cuda:1", "mps", "meta", "xpu:1"):
        assert repr(ts.device(spec)) == repr(torch.device(spec))
        assert str(ts.device(spec)) == str(torch.device(spec))
    assert (ts.device("cpu") == ts.device("cpu:0")) == (torch.device("cpu") == torch.device("cpu:0"))
    for bad in ("foo", 0):
        got, ref = _outcome(lambda b=bad: ts.device(b)), _outcome(lambda b=bad: torch.device(b))
        assert got[0] == ref[0] and got[1].split(" device type")[0] == ref[1].split(" device type")[0]


@needs_torch
def test_tensor_on_missing_device_raises_like_torch():
    for fn in (
        lambda m: m.ones(2, device="cuda"),
        lambda m: m.ones(2).to("cuda"),
        lambda m: m.ones(2).cuda(),
        lambda m: m.ones(2).to("mps"),
        lambda m: m.ones(2).pin_memory(),
    ):
        got, ref = _outcome(lambda f=fn: f(ts)), _outcome(lambda f=fn: f(torch))
        assert got == ref
    with pytest.raises(RuntimeError, match="Torch not compiled with CUDA enabled"):  # also a RuntimeError
        ts.ones(2).cuda()


TENSOR_PROPS = [
    "is_cuda",
    "is_mps",
    "is_xpu",
    "is_cpu",
    "is_meta",
    "is_quantized",
    "is_mkldnn",
    "is_vulkan",
    "is_xla",
    "is_ipu",
    "is_mtia",
    "is_maia",
    "is_nested",
    "is_sparse",
    "get_device()",
    "is_pinned()",
    "is_shared()",
    "storage_offset()",
    "is_inference()",
    "is_signed()",
    "output_nr",
    "dim_order()",
    "itemsize",
    "nbytes",
    "element_size()",
]


@needs_torch
@pytest.mark.parametrize("prop", TENSOR_PROPS)
def test_tensor_properties_match_torch(prop):
    for make in (
        "ones(2, 3)",
        "ones(2, 3, dtype={m}.uint8)",
        "arange(6.).reshape(2, 3).t()",
        "arange(5)[2:]",
    ):
        got = eval(f"ts.{make.format(m='ts')}.{prop}")
        ref = eval(f"torch.{make.format(m='torch')}.{prop}")
        assert got == ref, (make, got, ref)


@needs_torch
def test_layout_and_empty_strided():
    assert ts.ones(2).layout is ts.strided and repr(ts.strided) == "tessera.strided"
    assert isinstance(ts.sparse_coo, ts.layout)
    t = ts.ones(1).new_empty_strided((2, 3), (1, 2))
    assert t.shape == (2, 3) and t.stride() == torch.ones(1).new_empty_strided((2, 3), (1, 2)).stride()
    assert ts.empty_strided((2, 3), (3, 1), dtype=ts.int32).dtype is ts.int32
    with pytest.raises(RuntimeError, match="mismatch in length of strides and shape"):
        ts.empty_strided((2, 3), (1,))


def test_share_memory_moves_to_shared_memory():
    t = ts.arange(4.0)
    assert not t.is_shared()
    assert t.share_memory_() is t
    assert t.is_shared()
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    t.add_(1)  # still an ordinary writable tensor
    assert t.tolist() == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(RuntimeError, match="not on a view"):
        ts.arange(4.0)[1:].share_memory_()


# -- memory formats -------------------------------------------------------------------------------------
@needs_torch
def test_channels_last_matches_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    t, r = ts.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    tc, rc = t.contiguous(memory_format=ts.channels_last), r.contiguous(memory_format=torch.channels_last)
    assert tc.stride() == rc.stride()
    assert tc.is_contiguous() == rc.is_contiguous() is False
    assert tc.is_contiguous(memory_format=ts.channels_last)
    np.testing.assert_array_equal(tc.detach().numpy(), rc.detach().numpy())
    w = np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5)
    (tc * ts.tensor(w)).sum().backward()
    (rc * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), r.grad.numpy())
    assert t.to(memory_format=ts.channels_last).stride() == r.to(memory_format=torch.channels_last).stride()
    y = np.ones((2, 3, 4, 5, 6), np.float32)
    assert (
        ts.tensor(y).contiguous(memory_format=ts.channels_last_3d).stride()
        == torch.tensor(y).contiguous(memory_format=torch.channels_last_3d).stride()
    )
    assert ts.ones(2).contiguous(memory_format=ts.contiguous_format).stride() == (1,)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        ts.ones(2).contiguous(memory_format=ts.channels_last)
    with pytest.raises(TypeError, match="argument 'memory_format' must be tessera.memory_format, not int"):
        ts.ones(2).contiguous(memory_format=3)


def test_contiguous_of_transpose_is_row_major():
    t = ts.arange(6.0).reshape(2, 3).t()
    c = t.contiguous()
    assert c.is_contiguous() and c.stride() == (2, 1)
    assert c.tolist() == t.tolist()


# -- in-place writes into overlapping memory ------------------------------------------------------------
OVERLAP = "unsupported operation: more than one element of the written-to tensor refers to a single memory"


@needs_torch
@pytest.mark.parametrize("op", ["add_(1)", "mul_(2)", "copy_(m.zeros(2, 3))", "clamp_(0, 1)"])
def test_inplace_on_expanded_tensor_raises_like_torch(op):
    got = _outcome(lambda: eval("x." + op, {"x": ts.ones(3).expand(2, 3), "m": ts}))
    ref = _outcome(lambda: eval("x." + op, {"x": torch.ones(3).expand(2, 3), "m": torch}))
    assert got == ref
    assert got[1].startswith(OVERLAP)


def test_inplace_on_expanded_tensor_leaves_it_unchanged():
    base = ts.ones(3)
    with pytest.raises(RuntimeError, match="Please clone"):
        base.expand(2, 3).add_(ts.ones(2, 3, requires_grad=True))
    assert base.tolist() == [1.0, 1.0, 1.0]
    # PyTorch lets fill_/zero_ write the one shared value; Tessera asks for a clone there too
    with pytest.raises(RuntimeError, match="Please clone"):
        base.expand(2, 3).fill_(2)


# -- legacy constructors --------------------------------------------------------------------------------
LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor",
          "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]  # fmt: skip


@needs_torch
@pytest.mark.parametrize("name", LEGACY)
def test_legacy_constructors_match_torch(name):
    T, R = getattr(ts, name), getattr(torch, name)
    assert str(T(2, 3).dtype).split(".")[-1] == str(R(2, 3).dtype).split(".")[-1]
    assert tuple(T(2, 3).shape) == (2, 3) and tuple(T().shape) == (0,)
    for data in ([1, 0, 2], [[1.5, -2.0]], [[2.7, 0.0]], np.array([3, 1]), np.array([0.5, 1])):
        got, ref = _outcome(lambda d=data: T(d).tolist()), _outcome(lambda d=data: R(d).tolist())
        assert got == ref, (data, got, ref)
    assert T(ts.Size([4])).shape == (4,)
    t = T([1, 1])
    assert isinstance(t, T) and isinstance(t, ts.Tensor) and type(t) is ts.Tensor
    for other in LEGACY:
        assert isinstance(t, getattr(ts, other)) == isinstance(R([1, 1]), getattr(torch, other))
    assert issubclass(T, ts.Tensor) == issubclass(R, torch.Tensor)
    assert T.dtype is getattr(ts, str(R.dtype).split(".")[-1])


@needs_torch
def test_legacy_constructor_errors_and_type():
    same = ts.ones(2)
    assert ts.FloatTensor(same).data_ptr() == same.data_ptr()
    with pytest.raises(TypeError, match="expected a tensor of dtype float32, got float64"):
        ts.FloatTensor(ts.ones(2).double())
    with pytest.raises(TypeError, match="argument 'size' must be a tuple of ints"):
        ts.FloatTensor(2, 3.0)
    with pytest.raises(TypeError, match="invalid data type 'str'"):
        ts.FloatTensor("a")
    assert ts.ones(2).type(ts.LongTensor).dtype is ts.int64
    assert ts.ones(2).type("torch.DoubleTensor").dtype is ts.float64
    assert ts.ones(2).type("tessera.IntTensor").dtype is ts.int32
    assert ts.ones(2).type() == "tessera.FloatTensor"
    with pytest.raises(ValueError, match="invalid type: 'torch.FooTensor'"):
        ts.ones(2).type("torch.FooTensor")


# -- process-level switches -----------------------------------------------------------------------------
def test_num_threads_reach_blas_and_openmp():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import ctypes
    import os

    before = ts.get_num_threads()
    try:
        ts.set_num_threads(1)
        assert ts.get_num_threads() == 1
        assert os.environ["OMP_NUM_THREADS"] == "1"
        blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(i["num_threads"] == 1 for i in blas)
        try:  # the OpenMP runtime compiled kernels link (loaded here as a kernel library would load it)
            gomp = ctypes.CDLL("libgomp.so.1")
        except OSError:
            gomp = None
        if gomp is not None:
            ts.set_num_threads(2)
            assert gomp.omp_get_max_threads() == 2
            ts.set_num_threads(1)
            assert gomp.omp_get_max_threads() == 1
    finally:
        ts.set_num_threads(before)
    with pytest.raises(RuntimeError, match="set_num_threads expects a positive integer"):
        ts.set_num_threads(0)
    with pytest.raises(RuntimeError, match="set_num_threads expects an int, but got float"):
        ts.set_num_threads(1.5)
    assert ts.get_num_interop_threads() >= 1


def test_interop_threads_can_be_set_once():
    from tessera.core import compat

    saved = compat._THREADS["interop"]
    compat._THREADS["interop"] = None
    try:
        ts.set_num_interop_threads(1)
        assert ts.get_num_interop_threads() == 1
        with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
            ts.set_num_interop_threads(2)
    finally:
        compat._THREADS["interop"] = saved


@needs_torch
def test_printoptions_match_torch():
    cases = [
        ({"precision": 2}, [1.23456, 2.0]),
        ({"sci_mode": True}, [1.5, 2.0]),
        ({"profile": "short"}, [1.23456, 2.0]),
        ({"sci_mode": False}, [0.5, 2.25]),
    ]
    try:
        for opts, data in cases:
            ts.set_printoptions(**opts)
            torch.set_printoptions(**opts)
            got = repr(ts.tensor(data, dtype=ts.float32))
            ref = repr(torch.tensor(data, dtype=torch.float32))
            assert got == ref, (opts, got, ref)
            ts.set_printoptions(profile="default")
            torch.set_printoptions(profile="default")
    finally:
        ts.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(ts.tensor([1.23456])) == "tensor([1.2346])"
    try:
        ts.set_printoptions(threshold=5, edgeitems=2)
        assert repr(ts.arange(10.0)).replace(" ", "") == "tensor([0.,1.,...,8.,9.])"
        ts.set_printoptions(linewidth=20)
        assert max(len(line) for line in repr(ts.arange(4.0)).splitlines()) <= 20
    finally:
        ts.set_printoptions(profile="default")
    with pytest.raises(ValueError, match="unknown profile 'x'"):
        ts.set_printoptions(profile="x")


@needs_torch
def test_deterministic_switches_match_torch():
    try:
        for m in (ts, torch):
            m.use_deterministic_algorithms(True, warn_only=True)
        assert ts.are_deterministic_algorithms_enabled() is torch.are_deterministic_algorithms_enabled()
        assert ts.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == 1
        for mode in ("error", 0, "warn", 2, "default"):
            ts.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert ts.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert ts.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled()
            assert (
                ts.is_deterministic_algorithms_warn_only_enabled()
                == torch.is_deterministic_algorithms_warn_only_enabled()
            )
    finally:
        ts.use_deterministic_algorithms(False)
        torch.use_deterministic_algorithms(False)
    with pytest.raises(RuntimeError, match="expected one of `default`, `warn`, `error`, but got x"):
        ts.set_deterministic_debug_mode("x")
    with pytest.raises(TypeError, match="argument 'mode' \\(position 1\\) must be bool, not int"):
        ts.use_deterministic_algorithms(1)


def test_default_device():
    assert ts.get_default_device() == ts.device("cpu")
    try:
        ts.set_default_device("cuda")
        assert ts.get_default_device() == ts.device("cuda")
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            ts.zeros(2)
    finally:
        ts.set_default_device(None)
    assert ts.zeros(2).device == ts.device("cpu")
    with ts.device("cuda"):
        with pytest.raises(AssertionError):
            ts.ones(1)
    assert ts.ones(1).shape == (1,)


@needs_torch
def test_predicates_and_constants_match_torch():
    exprs = [
        "is_floating_point({m}.ones(1))",
        "is_floating_point({m}.ones(1, dtype={m}.int64))",
        "is_complex({m}.ones(1))",
        "is_signed({m}.ones(1, dtype={m}.uint8))",
        "is_signed({m}.ones(1, dtype={m}.int8))",
        "is_nonzero({m}.tensor([0.]))",
        "is_nonzero({m}.tensor([1.5]))",
        "is_nonzero({m}.tensor([1., 2.]))",
        "is_nonzero({m}.tensor([]))",
        "is_same_size({m}.ones(2), {m}.ones(2))",
        "is_same_size({m}.ones(2), {m}.ones(3))",
        "is_storage(3)",
        "is_tensor({m}.ones(1))",
        "typename(3)",
        "pi",
        "e",
        "inf",
        "newaxis",
    ]
    for expr in exprs:
        got = _outcome(lambda x=expr: eval("ts." + x.format(m="ts")))
        ref = _outcome(lambda x=expr: eval("torch." + x.format(m="torch")))
        assert got == ref, (expr, got, ref)
    assert np.isnan(ts.nan)
    assert ts.set_flush_denormal(True) is False  # NumPy cannot set the CPU's denormal mode: unsupported
    assert ts.typename(ts.ones(1)) == "tessera.FloatTensor"
    with pytest.raises(
        TypeError, match="is_floating_point\\(\\): argument 'input' \\(position 1\\) must be Tensor"
    ):
        ts.is_floating_point(3)


def test_warn_always_switch():
    assert ts.is_warn_always_enabled() is False
    ts.set_warn_always(True)
    try:
        assert ts.is_warn_always_enabled() is True
    finally:
        ts.set_warn_always(False)


# -- fast import ----------------------------------------------------------------------------------------
def test_import_leaves_heavy_modules_unloaded_and_bfloat16_works():
    code = (
        "import sys, tessera as ts\n"
        "heavy = [m for m in ('ml_dtypes', 'torch', 'scipy') if m in sys.modules]\n"
        "print(heavy)\n"
        "x = ts.ones(2, dtype=ts.bfloat16) * 3\n"
        "print(x.dtype, x.tolist(), 'ml_dtypes' in sys.modules, ts.finfo(ts.bfloat16).eps)\n"
    )
    with warnings.catch_warnings():
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "[]", lines
    assert lines[1] == "tessera.bfloat16 [3.0, 3.0] True 0.0078125"


def test_ml_dtypes_arrays_are_recognised():
    import ml_dtypes

    a = np.ones(3, dtype=ml_dtypes.bfloat16)
    t = ts.from_numpy(a)
    assert t.dtype is ts.bfloat16
    assert ts.tensor(a).dtype is ts.bfloat16
