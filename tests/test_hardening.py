"""Careless or hostile inputs: allocations that cannot succeed name the op, the shape and the bytes; bad ranges
and overflowing literals raise PyTorch's errors; tampered Keras model files raise a clear ``ValueError``
naming the file, before they can allocate or inflate much."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import pytest
from opcheck import needs_torch, torch

import tessera as ts

HUGE = 10**12  # elements: terabytes for any dtype


@pytest.mark.parametrize(
    "call, opname",
    [
        (lambda: ts.zeros(HUGE), "zeros"),
        (lambda: ts.ones(10**6, 10**6), "ones"),
        (lambda: ts.empty(HUGE), "empty"),
        (lambda: ts.full((HUGE,), 1.0), "full"),
        (lambda: ts.zeros_like(ts.zeros(1).expand(HUGE)), "zeros_like"),
        (lambda: ts.empty_like(ts.zeros(1).expand(HUGE)), "empty_like"),
        (lambda: ts.full_like(ts.zeros(1).expand(HUGE), 2.0), "full_like"),
        (lambda: ts.rand(HUGE), "rand"),
        (lambda: ts.randn(10**6, 10**6), "randn"),
        (lambda: ts.randint(0, 5, (HUGE,)), "randint"),
        (lambda: ts.arange(HUGE), "arange"),
        (lambda: ts.linspace(0, 1, HUGE), "linspace"),
        (lambda: ts.eye(10**7), "eye"),
    ],
)
def test_impossible_allocations_name_the_op_shape_and_bytes(call, opname):
    with pytest.raises(MemoryError, match=rf"^{opname}: cannot allocate .* bytes\) for a tensor of shape \["):
        call()


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: ts.nn.Linear(10**6, 10**7), "Linear"),
        (lambda: ts.nn.Embedding(10**7, 10**6), "Embedding"),
        (lambda: ts.nn.Conv2d(10**5, 10**5, 100), "Conv2d"),
        (lambda: ts.zeros(1).expand(HUGE).contiguous(), "contiguous"),
        (lambda: ts.zeros(1).expand(HUGE).clone(), "clone"),
        (lambda: ts.outer(ts.zeros(10**6), ts.zeros(10**7)), "outer"),
        (lambda: ts.nn.functional.interpolate(ts.zeros(1, 1, 10, 10), size=(10**6, 10**6)), "interpolate"),
        (lambda: ts.zeros(10**5, 1) * ts.zeros(1, 10**7), "mul"),
    ],
)
def test_allocation_failures_inside_name_the_public_op_or_layer(call, name):
    """An allocation deep inside (``empty`` under ``nn.Linear``, ``mul`` under ``outer``) names what the
    user called, with the shape and the bytes."""
    with pytest.raises(MemoryError, match=rf"^{name}: cannot allocate .* bytes\) for a tensor of shape \["):
        call()


@needs_torch
@pytest.mark.parametrize("end", [float("nan"), float("inf"), float("-inf")])
def test_arange_with_a_non_finite_bound_raises_like_torch(end):
    with pytest.raises(RuntimeError):
        torch.arange(0, end)
    with pytest.raises(RuntimeError, match=r"arange: unsupported range: 0 -> (nan|inf|-inf)"):
        ts.arange(0, end)


@needs_torch
@pytest.mark.parametrize("data", [[2**64], [1, 2**63], [-(2**63) - 1], [[1, 2], [3, 2**70]]])
def test_int_literals_beyond_int64_overflow_like_torch(data):
    with pytest.raises(ValueError, match="Overflow"):
        torch.tensor(data)
    with pytest.raises(ValueError, match=r"tensor: value -?\d+ overflows int64"):
        ts.tensor(data)


def test_int64_extremes_still_build():
    assert ts.tensor([2**63 - 1, -(2**63)]).tolist() == [2**63 - 1, -(2**63)]


# -- tampered Keras model files --------------------------------------------------------------------------
def _model_file(tmp_path):
    k = ts.keras
    model = k.Sequential([k.layers.Dense(4, input_shape=(3,)), k.layers.Dense(2)])
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        return path, {n: z.read(n) for n in z.namelist()}


def _rewrite(path, members, compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data, compress_type=compress if name.endswith(".json") else zipfile.ZIP_STORED)


def _edit_config(members, edit):
    cfg = json.loads(members["config.json"])
    edit(cfg)
    members["config.json"] = json.dumps(cfg).encode()


def test_metadata_that_is_not_an_object_is_rejected(tmp_path):
    path, members = _model_file(tmp_path)
    members["metadata.json"] = b'["format_version", "99"]'
    _rewrite(path, members)
    with pytest.raises(ValueError, match=r"m\.keras'?: corrupt metadata\.json .*not a JSON object"):
        ts.keras.models.load_model(path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["config"]["layers"][0]["config"].update(units=[4]),
        lambda c: c["config"]["layers"][0]["config"].update(batch_input_shape=7),
        lambda c: c["config"].update(layers=[{"class_name": ["Dense"], "config": {}}]),
        lambda c: c["config"]["layers"][1].update(config=[1, 2]),
    ],
)
def test_wrong_types_in_the_config_raise_value_errors_naming_the_file(tmp_path, edit):
    path, members = _model_file(tmp_path)
    _edit_config(members, edit)
    _rewrite(path, members)
    with pytest.raises(ValueError, match=r"m\.keras"):
        ts.keras.models.load_model(path)


def test_a_tiny_file_declaring_a_huge_layer_fails_before_allocating(tmp_path):
    path, members = _model_file(tmp_path)
    _edit_config(members, lambda c: c["config"]["layers"][0]["config"].update(units=20_000_000))
    _rewrite(path, members)
    tracemalloc.start()
    try:
        with pytest.raises(
            ValueError, match=r"m\.keras'?: the architecture in config\.json allocates more than"
        ):
            ts.keras.models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak} bytes while rejecting the file"


def test_a_config_that_inflates_to_a_gigabyte_is_refused_without_inflating_it(tmp_path):
    path, members = _model_file(tmp_path)
    members["config.json"] = b" " * (200 * 2**20) + members["config.json"]  # deflates to ~200 KB
    _rewrite(path, members)
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"m\.keras'?: config\.json (declares|inflates beyond)"):
            ts.keras.models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20


def test_a_member_whose_header_understates_its_size_is_cut_off(tmp_path):
    """The limit holds on the bytes read, not only on what the zip header claims."""
    path, members = _model_file(tmp_path)
    members["config.json"] = b" " * (80 * 2**20) + members["config.json"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    raw = bytearray(buf.getvalue())
    # rewrite the declared uncompressed size of config.json in the local and central headers to 1000 bytes
    size = len(members["config.json"]).to_bytes(4, "little")
    while (at := raw.find(size)) != -1:
        raw[at : at + 4] = (1000).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"m\.keras"):
        ts.keras.models.load_model(path)


def test_an_untampered_file_still_loads(tmp_path):
    path, members = _model_file(tmp_path)
    _rewrite(path, members)
    model = ts.keras.models.load_model(path)
    assert [tuple(w.shape) for w in model.get_weights()] == [(3, 4), (4,), (4, 2), (2,)]


def test_a_deeply_nested_config_is_a_value_error(tmp_path):
    path, members = _model_file(tmp_path)
    members["config.json"] = b"[" * 5000 + b"]" * 5000
    _rewrite(path, members)
    with pytest.raises(ValueError, match=r"m\.keras'?: corrupt config\.json"):
        ts.keras.models.load_model(path)
