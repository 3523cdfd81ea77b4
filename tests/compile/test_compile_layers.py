"""Every public layer of ``ts.nn`` under ``ts.compile``: compiled forward (eval and train mode) and
gradients (with respect to the input and the parameters, taken inside the compiled function with
``ts.autograd.grad``) match eager over three calls -- the first traces, the later ones replay -- on the NumPy
and the C backend; buffers updated in train mode (running statistics) match an eager copy afterwards; and
no compiled version falls back to eager, except for the layers listed in ``EXPECTED_FALLBACK``.

A layer class that appears in ``ts.nn`` and is neither in ``LAYERS`` nor in ``SKIP`` fails
``test_every_layer_class_is_covered``: add it to the table.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import tessera as ts

nn = ts.nn
RTOL, ATOL = 1e-5, 1e-6
BACKENDS = ("numpy", "c")
MODES = ("eval", "train")
N_CALLS = 3


# -- inputs -----------------------------------------------------------------------------------------------
def randn(*shape):
    return lambda rng: rng.standard_normal(shape).astype(np.float32)


def uniform(lo, hi, *shape):
    return lambda rng: rng.uniform(lo, hi, shape).astype(np.float32)


def randint(hi, *shape):
    return lambda rng: rng.integers(0, hi, shape).astype(np.int64)


def sign(*shape):
    return lambda rng: np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def binary(*shape):
    return lambda rng: (rng.random(shape) < 0.5).astype(np.float32)


def log_probs(*shape):
    def make(rng):
        z = rng.standard_normal(shape)
        return (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(np.float32)

    return make


def probs(*shape):
    def make(rng):
        e = np.exp(rng.standard_normal(shape))
        return (e / e.sum(-1, keepdims=True)).astype(np.float32)

    return make


def poisson(*shape):
    return lambda rng: rng.poisson(2.0, shape).astype(np.float32)


def _call(m, xs):
    return m(*xs)


@dataclasses.dataclass(frozen=True)
class Spec:
    cls: str  # the ts.nn class this entry covers
    make: Callable  # () -> module
    inputs: tuple  # one maker (rng -> ndarray) per positional input
    diff: tuple = (0,)  # which inputs the gradient is taken with respect to
    call: Callable = _call  # (module, input tensors) -> output


def S(cls, make, *inputs, diff=(0,), call=_call):
    return Spec(cls, make, tuple(inputs), tuple(diff), call)


def _materialised(lazy, *shape):
    """A lazy module after the dry-run forward that gives it its parameters (the draws would otherwise happen
    at the first call, separately in the compiled and the eager copy)."""
    lazy(ts.zeros(*shape))
    return lazy


ACT = randn(4, 6)
LAYERS: dict[str, Spec] = {
    # activations
    "CELU": S("CELU", lambda: nn.CELU(0.7), ACT),
    "ELU": S("ELU", lambda: nn.ELU(), ACT),
    "GELU": S("GELU", lambda: nn.GELU(), ACT),
    "GELU-tanh": S("GELU", lambda: nn.GELU(approximate="tanh"), ACT),
    "GLU": S("GLU", lambda: nn.GLU(), ACT),
    "Hardsigmoid": S("Hardsigmoid", lambda: nn.Hardsigmoid(), uniform(-4, 4, 4, 6)),
    "Hardswish": S("Hardswish", lambda: nn.Hardswish(), uniform(-4, 4, 4, 6)),
    "Hardtanh": S("Hardtanh", lambda: nn.Hardtanh(-0.5, 0.8), ACT),
    "Identity": S("Identity", lambda: nn.Identity(), ACT),
    "LeakyReLU": S("LeakyReLU", lambda: nn.LeakyReLU(0.1), ACT),
    "LogSigmoid": S("LogSigmoid", lambda: nn.LogSigmoid(), ACT),
    "LogSoftmax": S("LogSoftmax", lambda: nn.LogSoftmax(dim=1), ACT),
    "Mish": S("Mish", lambda: nn.Mish(), ACT),
    "ReLU": S("ReLU", lambda: nn.ReLU(), ACT),
    "ReLU6": S("ReLU6", lambda: nn.ReLU6(), uniform(-8, 8, 4, 6)),
    "SELU": S("SELU", lambda: nn.SELU(), ACT),
    "SiLU": S("SiLU", lambda: nn.SiLU(), ACT),
    "Sigmoid": S("Sigmoid", lambda: nn.Sigmoid(), ACT),
    "Softmax": S("Softmax", lambda: nn.Softmax(dim=1), ACT),
    "Softmin": S("Softmin", lambda: nn.Softmin(dim=1), ACT),
    "Softplus": S("Softplus", lambda: nn.Softplus(beta=2.0, threshold=3.0), ACT),
    "Softsign": S("Softsign", lambda: nn.Softsign(), ACT),
    "Tanh": S("Tanh", lambda: nn.Tanh(), ACT),
    "Tanhshrink": S("Tanhshrink", lambda: nn.Tanhshrink(), ACT),
    # shape
    "Flatten": S("Flatten", lambda: nn.Flatten(), randn(2, 3, 4)),
    "Unflatten": S("Unflatten", lambda: nn.Unflatten(1, (2, 3)), randn(4, 6)),
    "PixelShuffle": S("PixelShuffle", lambda: nn.PixelShuffle(2), randn(2, 8, 3, 3)),
    "PixelUnshuffle": S("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), randn(2, 2, 6, 6)),
    # linear
    "Linear": S("Linear", lambda: nn.Linear(6, 5), randn(4, 6)),
    "Bilinear": S("Bilinear", lambda: nn.Bilinear(3, 4, 5), randn(4, 3), randn(4, 4), diff=(0, 1)),
    "Embedding": S("Embedding", lambda: nn.Embedding(10, 4), randint(10, 3, 5), diff=()),
    "Embedding-padding_idx": S(
        "Embedding", lambda: nn.Embedding(10, 4, padding_idx=2), randint(10, 3, 5), diff=()
    ),
    # convolution
    "Conv1d": S("Conv1d", lambda: nn.Conv1d(3, 4, 3, padding=1), randn(2, 3, 8)),
    "Conv1d-groups-stride": S("Conv1d", lambda: nn.Conv1d(4, 6, 3, stride=2, groups=2), randn(2, 4, 9)),
    "Conv2d": S("Conv2d", lambda: nn.Conv2d(3, 4, 3, padding=1), randn(2, 3, 6, 6)),
    "Conv2d-stride-dilation": S(
        "Conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, dilation=2), randn(2, 3, 9, 9)
    ),
    "ConvTranspose1d": S(
        "ConvTranspose1d", lambda: nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1), randn(2, 3, 5)
    ),
    "ConvTranspose2d": S(
        "ConvTranspose2d", lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1), randn(2, 3, 4, 4)
    ),
    # pooling and resampling
    "AdaptiveAvgPool1d": S("AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(3), randn(2, 3, 7)),
    "AdaptiveAvgPool2d": S("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), randn(2, 3, 5, 7)),
    "AdaptiveMaxPool1d": S("AdaptiveMaxPool1d", lambda: nn.AdaptiveMaxPool1d(3), randn(2, 3, 7)),
    "AdaptiveMaxPool2d": S("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d((2, 3)), randn(2, 3, 5, 7)),
    "AvgPool1d": S("AvgPool1d", lambda: nn.AvgPool1d(3, stride=2, padding=1), randn(2, 3, 8)),
    "AvgPool2d": S("AvgPool2d", lambda: nn.AvgPool2d(2), randn(2, 3, 6, 6)),
    "AvgPool2d-pad-exclude": S(
        "AvgPool2d", lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), randn(2, 3, 7, 7)
    ),
    "LPPool1d": S("LPPool1d", lambda: nn.LPPool1d(2, 3, stride=2), randn(2, 3, 8)),
    "LPPool2d": S("LPPool2d", lambda: nn.LPPool2d(2, 2), randn(2, 3, 6, 6)),
    "MaxPool1d": S("MaxPool1d", lambda: nn.MaxPool1d(2), randn(2, 3, 8)),
    "MaxPool2d": S("MaxPool2d", lambda: nn.MaxPool2d(2), randn(2, 3, 6, 6)),
    "MaxPool2d-indices": S(
        "MaxPool2d", lambda: nn.MaxPool2d(3, stride=2, padding=1, return_indices=True), randn(2, 3, 7, 7)
    ),
    "Upsample-nearest": S("Upsample", lambda: nn.Upsample(scale_factor=2, mode="nearest"), randn(2, 3, 4, 4)),
    "Upsample-bilinear": S(
        "Upsample", lambda: nn.Upsample(size=(7, 5), mode="bilinear", align_corners=False), randn(2, 3, 4, 4)
    ),
    "UpsamplingBilinear2d": S(
        "UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(scale_factor=2), randn(2, 3, 4, 4)
    ),
    "UpsamplingNearest2d": S(
        "UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(scale_factor=2), randn(2, 3, 4, 4)
    ),
    # dropout (random in train mode: seeded before every eager and compiled call)
    "Dropout": S("Dropout", lambda: nn.Dropout(0.5), randn(4, 6)),
    "Dropout1d": S("Dropout1d", lambda: nn.Dropout1d(0.5), randn(2, 3, 8)),
    "Dropout2d": S("Dropout2d", lambda: nn.Dropout2d(0.5), randn(2, 3, 4, 4)),
    "AlphaDropout": S("AlphaDropout", lambda: nn.AlphaDropout(0.5), randn(4, 6)),
    # normalization (BatchNorm and tracked InstanceNorm update running statistics in train mode)
    "BatchNorm1d": S("BatchNorm1d", lambda: nn.BatchNorm1d(3), randn(4, 3)),
    "BatchNorm1d-3d-input": S("BatchNorm1d", lambda: nn.BatchNorm1d(3), randn(4, 3, 5)),
    "BatchNorm1d-cumulative": S("BatchNorm1d", lambda: nn.BatchNorm1d(3, momentum=None), randn(4, 3)),
    "BatchNorm2d": S("BatchNorm2d", lambda: nn.BatchNorm2d(3), randn(4, 3, 4, 4)),
    "BatchNorm3d": S("BatchNorm3d", lambda: nn.BatchNorm3d(3), randn(2, 3, 3, 3, 3)),
    "GroupNorm": S("GroupNorm", lambda: nn.GroupNorm(2, 4), randn(2, 4, 5)),
    "InstanceNorm1d": S("InstanceNorm1d", lambda: nn.InstanceNorm1d(3), randn(2, 3, 8)),
    "InstanceNorm2d": S("InstanceNorm2d", lambda: nn.InstanceNorm2d(3), randn(2, 3, 4, 4)),
    "InstanceNorm2d-affine-tracked": S(
        "InstanceNorm2d",
        lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
        randn(2, 3, 4, 4),
    ),
    "InstanceNorm3d": S("InstanceNorm3d", lambda: nn.InstanceNorm3d(3), randn(2, 3, 3, 3, 3)),
    "LayerNorm": S("LayerNorm", lambda: nn.LayerNorm(6), randn(4, 6)),
    "LayerNorm-2d": S("LayerNorm", lambda: nn.LayerNorm((3, 4)), randn(2, 3, 4)),
    "RMSNorm": S("RMSNorm", lambda: nn.RMSNorm(6), randn(4, 6)),
    # recurrent
    "RNN": S("RNN", lambda: nn.RNN(4, 5), randn(6, 2, 4)),
    "RNN-relu-batch_first-h0": S(
        "RNN",
        lambda: nn.RNN(4, 5, nonlinearity="relu", batch_first=True),
        randn(2, 6, 4),
        randn(1, 2, 5),
        diff=(0, 1),
    ),
    "LSTM": S("LSTM", lambda: nn.LSTM(4, 5), randn(6, 2, 4)),
    "LSTM-2layer-bidir-dropout": S(
        "LSTM", lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True, dropout=0.5), randn(6, 2, 4)
    ),
    "LSTM-proj": S("LSTM", lambda: nn.LSTM(4, 5, proj_size=3), randn(6, 2, 4)),
    "GRU": S("GRU", lambda: nn.GRU(4, 5), randn(6, 2, 4)),
    "GRU-h0": S("GRU", lambda: nn.GRU(4, 5), randn(6, 2, 4), randn(1, 2, 5), diff=(0, 1)),
    "RNNCell": S("RNNCell", lambda: nn.RNNCell(4, 5), randn(3, 4), randn(3, 5), diff=(0, 1)),
    "LSTMCell": S(
        "LSTMCell",
        lambda: nn.LSTMCell(4, 5),
        randn(3, 4),
        randn(3, 5),
        randn(3, 5),
        diff=(0, 1, 2),
        call=lambda m, xs: m(xs[0], (xs[1], xs[2])),
    ),
    "GRUCell": S("GRUCell", lambda: nn.GRUCell(4, 5), randn(3, 4), randn(3, 5), diff=(0, 1)),
    # attention and transformers (dropout inside: random in train mode)
    "MultiheadAttention": S(
        "MultiheadAttention",
        lambda: nn.MultiheadAttention(8, 2),
        randn(5, 2, 8),
        randn(4, 2, 8),
        randn(4, 2, 8),
        diff=(0, 1, 2),
    ),
    "MultiheadAttention-dropout-batch_first": S(
        "MultiheadAttention",
        lambda: nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True),
        randn(2, 5, 8),
        randn(2, 4, 8),
        randn(2, 4, 8),
        diff=(0, 1, 2),
    ),
    "TransformerEncoderLayer": S(
        "TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(8, 2, 16), randn(5, 2, 8)
    ),
    "TransformerEncoderLayer-norm_first-gelu": S(
        "TransformerEncoderLayer",
        lambda: nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", norm_first=True, batch_first=True),
        randn(2, 5, 8),
    ),
    "TransformerEncoder": S(
        "TransformerEncoder",
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8)),
        randn(5, 2, 8),
    ),
    # losses
    "BCELoss": S("BCELoss", lambda: nn.BCELoss(), uniform(0.05, 0.95, 4, 3), uniform(0, 1, 4, 3)),
    "BCEWithLogitsLoss": S("BCEWithLogitsLoss", lambda: nn.BCEWithLogitsLoss(), randn(4, 3), binary(4, 3)),
    "BCEWithLogitsLoss-pos_weight": S(
        "BCEWithLogitsLoss",
        lambda: nn.BCEWithLogitsLoss(pos_weight=ts.tensor([1.0, 2.0, 0.5])),
        randn(4, 3),
        binary(4, 3),
    ),
    "CosineEmbeddingLoss": S(
        "CosineEmbeddingLoss",
        lambda: nn.CosineEmbeddingLoss(0.2),
        randn(4, 5),
        randn(4, 5),
        sign(4),
        diff=(0, 1),
    ),
    "CrossEntropyLoss": S("CrossEntropyLoss", lambda: nn.CrossEntropyLoss(), randn(4, 5), randint(5, 4)),
    "CrossEntropyLoss-weight-smoothing": S(
        "CrossEntropyLoss",
        lambda: nn.CrossEntropyLoss(weight=ts.tensor([1.0, 2.0, 0.5, 1.0, 3.0]), label_smoothing=0.1),
        randn(4, 5),
        randint(5, 4),
    ),
    "CrossEntropyLoss-ignore_index": S(
        "CrossEntropyLoss", lambda: nn.CrossEntropyLoss(ignore_index=1), randn(6, 5), randint(5, 6)
    ),
    "CrossEntropyLoss-probs": S("CrossEntropyLoss", lambda: nn.CrossEntropyLoss(), randn(4, 5), probs(4, 5)),
    "HingeEmbeddingLoss": S("HingeEmbeddingLoss", lambda: nn.HingeEmbeddingLoss(), randn(4, 5), sign(4, 5)),
    "HuberLoss": S("HuberLoss", lambda: nn.HuberLoss(delta=0.5), randn(4, 5), randn(4, 5)),
    "KLDivLoss": S("KLDivLoss", lambda: nn.KLDivLoss(reduction="batchmean"), log_probs(4, 5), probs(4, 5)),
    "L1Loss": S("L1Loss", lambda: nn.L1Loss(), randn(4, 5), randn(4, 5)),
    "MSELoss": S("MSELoss", lambda: nn.MSELoss(), randn(4, 5), randn(4, 5)),
    "MSELoss-sum": S("MSELoss", lambda: nn.MSELoss(reduction="sum"), randn(4, 5), randn(4, 5)),
    "MarginRankingLoss": S(
        "MarginRankingLoss", lambda: nn.MarginRankingLoss(0.2), randn(6), randn(6), sign(6), diff=(0, 1)
    ),
    "MultiLabelSoftMarginLoss": S(
        "MultiLabelSoftMarginLoss", lambda: nn.MultiLabelSoftMarginLoss(), randn(4, 5), binary(4, 5)
    ),
    "NLLLoss": S("NLLLoss", lambda: nn.NLLLoss(), log_probs(4, 5), randint(5, 4)),
    "PoissonNLLLoss": S("PoissonNLLLoss", lambda: nn.PoissonNLLLoss(), randn(4, 5), poisson(4, 5)),
    "PoissonNLLLoss-full": S(
        "PoissonNLLLoss",
        lambda: nn.PoissonNLLLoss(log_input=False, full=True),
        uniform(0.5, 3, 4, 5),
        poisson(4, 5),
    ),
    "SmoothL1Loss": S("SmoothL1Loss", lambda: nn.SmoothL1Loss(beta=0.5), randn(4, 5), randn(4, 5)),
    "SoftMarginLoss": S("SoftMarginLoss", lambda: nn.SoftMarginLoss(), randn(4, 5), sign(4, 5)),
    # the PyTorch-coverage layers (issue 9)
    "Hardshrink": S("Hardshrink", lambda: nn.Hardshrink(0.3), ACT),
    "Softshrink": S("Softshrink", lambda: nn.Softshrink(0.3), ACT),
    "Threshold": S("Threshold", lambda: nn.Threshold(0.1, 20.0), ACT),
    "PReLU": S("PReLU", lambda: nn.PReLU(3), randn(2, 3, 4)),
    "RReLU": S("RReLU", lambda: nn.RReLU(0.1, 0.3), ACT),
    "Softmax2d": S("Softmax2d", lambda: nn.Softmax2d(), randn(2, 3, 4, 4)),
    "Conv3d": S("Conv3d", lambda: nn.Conv3d(2, 3, 2, padding=1), randn(1, 2, 4, 4, 4)),
    "ConvTranspose3d": S(
        "ConvTranspose3d", lambda: nn.ConvTranspose3d(2, 3, 2, stride=2), randn(1, 2, 3, 3, 3)
    ),
    "MaxPool3d": S("MaxPool3d", lambda: nn.MaxPool3d(2), randn(1, 2, 4, 4, 4)),
    "AvgPool3d": S("AvgPool3d", lambda: nn.AvgPool3d(2, stride=1, padding=1), randn(1, 2, 4, 4, 4)),
    "LPPool3d": S("LPPool3d", lambda: nn.LPPool3d(2, 2), uniform(0.1, 1, 1, 2, 4, 4, 4)),
    "AdaptiveAvgPool3d": S(
        "AdaptiveAvgPool3d", lambda: nn.AdaptiveAvgPool3d((2, 3, 2)), randn(1, 2, 5, 5, 5)
    ),
    "AdaptiveMaxPool3d": S("AdaptiveMaxPool3d", lambda: nn.AdaptiveMaxPool3d(2), randn(1, 2, 5, 5, 5)),
    "FractionalMaxPool2d": S(
        "FractionalMaxPool2d", lambda: nn.FractionalMaxPool2d(2, output_size=3), randn(1, 2, 6, 6)
    ),
    "FractionalMaxPool3d": S(
        "FractionalMaxPool3d", lambda: nn.FractionalMaxPool3d(2, output_size=2), randn(1, 1, 5, 5, 5)
    ),
    "MaxUnpool1d": S(
        "MaxUnpool1d",
        lambda: nn.MaxUnpool1d(2),
        randn(1, 2, 3),
        lambda rng: np.array([[[0, 3, 4], [1, 2, 5]]]),
    ),
    "MaxUnpool2d": S(
        "MaxUnpool2d",
        lambda: nn.MaxUnpool2d(2),
        randn(1, 1, 2, 2),
        lambda rng: np.array([[[[0, 3], [9, 14]]]]),
    ),
    "MaxUnpool3d": S(
        "MaxUnpool3d", lambda: nn.MaxUnpool3d(2), randn(1, 1, 1, 1, 2), lambda rng: np.array([[[[[1, 2]]]]])
    ),
    "ChannelShuffle": S("ChannelShuffle", lambda: nn.ChannelShuffle(2), randn(1, 4, 3, 3)),
    "Fold": S("Fold", lambda: nn.Fold((4, 4), 2), randn(1, 8, 9)),
    "Unfold": S("Unfold", lambda: nn.Unfold(2, padding=1, stride=2), randn(1, 2, 4, 4)),
    "ConstantPad1d": S("ConstantPad1d", lambda: nn.ConstantPad1d(2, 1.5), randn(2, 3, 5)),
    "ConstantPad2d": S("ConstantPad2d", lambda: nn.ConstantPad2d((1, 0, 2, 1), 0.5), randn(1, 2, 4, 4)),
    "ConstantPad3d": S("ConstantPad3d", lambda: nn.ConstantPad3d(1, -1.0), randn(1, 1, 3, 3, 3)),
    "ZeroPad1d": S("ZeroPad1d", lambda: nn.ZeroPad1d((1, 2)), randn(2, 3, 5)),
    "ZeroPad2d": S("ZeroPad2d", lambda: nn.ZeroPad2d(1), randn(1, 2, 4, 4)),
    "ZeroPad3d": S("ZeroPad3d", lambda: nn.ZeroPad3d(1), randn(1, 1, 3, 3, 3)),
    "ReflectionPad1d": S("ReflectionPad1d", lambda: nn.ReflectionPad1d(2), randn(2, 3, 5)),
    "ReflectionPad2d": S("ReflectionPad2d", lambda: nn.ReflectionPad2d((1, 2, 0, 1)), randn(1, 2, 4, 4)),
    "ReflectionPad3d": S("ReflectionPad3d", lambda: nn.ReflectionPad3d(1), randn(1, 1, 3, 3, 3)),
    "ReplicationPad1d": S("ReplicationPad1d", lambda: nn.ReplicationPad1d(2), randn(2, 3, 5)),
    "ReplicationPad2d": S("ReplicationPad2d", lambda: nn.ReplicationPad2d(1), randn(1, 2, 4, 4)),
    "ReplicationPad3d": S("ReplicationPad3d", lambda: nn.ReplicationPad3d(1), randn(1, 1, 3, 3, 3)),
    "CircularPad1d": S("CircularPad1d", lambda: nn.CircularPad1d(2), randn(2, 3, 5)),
    "CircularPad2d": S("CircularPad2d", lambda: nn.CircularPad2d(1), randn(1, 2, 4, 4)),
    "CircularPad3d": S("CircularPad3d", lambda: nn.CircularPad3d(1), randn(1, 1, 3, 3, 3)),
    "Dropout3d": S("Dropout3d", lambda: nn.Dropout3d(0.5), randn(2, 3, 2, 2, 2)),
    "FeatureAlphaDropout": S("FeatureAlphaDropout", lambda: nn.FeatureAlphaDropout(0.5), randn(2, 3, 4, 4)),
    "LocalResponseNorm": S("LocalResponseNorm", lambda: nn.LocalResponseNorm(3), randn(2, 4, 3, 3)),
    "CrossMapLRN2d": S("CrossMapLRN2d", lambda: nn.CrossMapLRN2d(3), randn(1, 4, 3, 3)),
    "SyncBatchNorm": S("SyncBatchNorm", lambda: nn.SyncBatchNorm(3), randn(4, 3, 2, 2)),
    "EmbeddingBag": S(
        "EmbeddingBag", lambda: nn.EmbeddingBag(10, 4, mode="mean"), randint(10, 3, 4), diff=()
    ),
    "EmbeddingBag-max-offsets": S(
        "EmbeddingBag",
        lambda: nn.EmbeddingBag(10, 4, mode="max"),
        randint(10, 7),
        lambda rng: np.array([0, 2, 5]),
        diff=(),
    ),
    "CosineSimilarity": S(
        "CosineSimilarity", lambda: nn.CosineSimilarity(1), randn(4, 5), randn(4, 5), diff=(0, 1)
    ),
    "PairwiseDistance": S(
        "PairwiseDistance", lambda: nn.PairwiseDistance(), randn(4, 5), randn(4, 5), diff=(0, 1)
    ),
    "LazyLinear": S("LazyLinear", lambda: _materialised(nn.LazyLinear(3), 4, 5), randn(4, 5)),
    "LazyConv1d": S("LazyConv1d", lambda: _materialised(nn.LazyConv1d(3, 2), 2, 2, 6), randn(2, 2, 6)),
    "LazyConv2d": S("LazyConv2d", lambda: _materialised(nn.LazyConv2d(3, 2), 1, 2, 4, 4), randn(1, 2, 4, 4)),
    "LazyConv3d": S(
        "LazyConv3d", lambda: _materialised(nn.LazyConv3d(2, 2), 1, 2, 3, 3, 3), randn(1, 2, 3, 3, 3)
    ),
    "LazyConvTranspose1d": S(
        "LazyConvTranspose1d", lambda: _materialised(nn.LazyConvTranspose1d(3, 2), 2, 2, 4), randn(2, 2, 4)
    ),
    "LazyConvTranspose2d": S(
        "LazyConvTranspose2d",
        lambda: _materialised(nn.LazyConvTranspose2d(3, 2), 1, 2, 3, 3),
        randn(1, 2, 3, 3),
    ),
    "LazyConvTranspose3d": S(
        "LazyConvTranspose3d",
        lambda: _materialised(nn.LazyConvTranspose3d(2, 2), 1, 2, 2, 2, 2),
        randn(1, 2, 2, 2, 2),
    ),
    "LazyBatchNorm1d": S("LazyBatchNorm1d", lambda: _materialised(nn.LazyBatchNorm1d(), 4, 3), randn(4, 3)),
    "LazyBatchNorm2d": S(
        "LazyBatchNorm2d", lambda: _materialised(nn.LazyBatchNorm2d(), 4, 3, 2, 2), randn(4, 3, 2, 2)
    ),
    "LazyBatchNorm3d": S(
        "LazyBatchNorm3d", lambda: _materialised(nn.LazyBatchNorm3d(), 2, 3, 2, 2, 2), randn(2, 3, 2, 2, 2)
    ),
    "LazyInstanceNorm1d": S(
        "LazyInstanceNorm1d",
        lambda: _materialised(nn.LazyInstanceNorm1d(affine=True), 2, 3, 5),
        randn(2, 3, 5),
    ),
    "LazyInstanceNorm2d": S(
        "LazyInstanceNorm2d", lambda: _materialised(nn.LazyInstanceNorm2d(), 2, 3, 3, 3), randn(2, 3, 3, 3)
    ),
    "LazyInstanceNorm3d": S(
        "LazyInstanceNorm3d",
        lambda: _materialised(nn.LazyInstanceNorm3d(track_running_stats=True), 2, 3, 2, 2, 2),
        randn(2, 3, 2, 2, 2),
    ),
    "DataParallel": S("DataParallel", lambda: nn.DataParallel(nn.Linear(4, 3)), randn(2, 4)),
    "Transformer": S(
        "Transformer",
        lambda: nn.Transformer(8, 2, 1, 1, 16, dropout=0.0),
        randn(5, 2, 8),
        randn(4, 2, 8),
        diff=(0, 1),
    ),
    "TransformerDecoderLayer": S(
        "TransformerDecoderLayer",
        lambda: nn.TransformerDecoderLayer(8, 2, 16, norm_first=True, batch_first=True),
        randn(2, 4, 8),
        randn(2, 5, 8),
        diff=(0, 1),
    ),
    "TransformerDecoder": S(
        "TransformerDecoder",
        lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8)),
        randn(4, 2, 8),
        randn(5, 2, 8),
        diff=(0, 1),
    ),
    "CTCLoss": S(
        "CTCLoss",
        lambda: nn.CTCLoss(),
        log_probs(6, 2, 4),
        lambda rng: rng.integers(1, 4, (2, 2)),
        lambda rng: np.array([6, 5]),
        lambda rng: np.array([2, 1]),
    ),
    "GaussianNLLLoss": S(
        "GaussianNLLLoss",
        lambda: nn.GaussianNLLLoss(),
        randn(4, 5),
        randn(4, 5),
        uniform(0.5, 2, 4, 5),
        diff=(0, 2),
    ),
    "MultiMarginLoss": S("MultiMarginLoss", lambda: nn.MultiMarginLoss(), randn(4, 5), randint(5, 4)),
    "MultiLabelMarginLoss": S(
        "MultiLabelMarginLoss",
        lambda: nn.MultiLabelMarginLoss(),
        randn(3, 4),
        lambda rng: np.array([[3, 0, -1, 1], [1, 2, 3, -1], [0, -1, 1, 2]]),
    ),
    "NLLLoss2d": S("NLLLoss2d", lambda: nn.NLLLoss2d(), randn(2, 3, 2, 2), randint(3, 2, 2, 2)),
    "TripletMarginLoss": S(
        "TripletMarginLoss",
        lambda: nn.TripletMarginLoss(swap=True),
        randn(4, 5),
        randn(4, 5),
        randn(4, 5),
        diff=(0, 1, 2),
    ),
    "TripletMarginWithDistanceLoss": S(
        "TripletMarginWithDistanceLoss",
        lambda: nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(p=1.0)),
        randn(4, 5),
        randn(4, 5),
        randn(4, 5),
        diff=(0, 1, 2),
    ),
    "LinearCrossEntropyLoss": S(
        "LinearCrossEntropyLoss",
        lambda: nn.LinearCrossEntropyLoss(6, 5, bias=True),
        randn(4, 6),
        randint(5, 4),
    ),
    "AdaptiveLogSoftmaxWithLoss": S(
        "AdaptiveLogSoftmaxWithLoss",
        lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[4]),
        randn(6, 8),
        randint(10, 6),
    ),
}

# ts.nn Module subclasses that are not layers to test on their own
SKIP = {
    "Module": "the abstract base class",
    "Sequential": "a container: its behaviour is its children's",
    "ModuleList": "a container without a forward",
    "ModuleDict": "a container without a forward",
    "ParameterList": "a container without a forward",
    "ParameterDict": "a container without a forward",
    "RNNBase": "the shared base of RNN/LSTM/GRU (covered through them)",
    "RNNCellBase": "the shared base of RNNCell/LSTMCell/GRUCell, without a forward",
    "Container": "PyTorch's deprecated container base, without a forward",
}

# layer id -> (reason, regex the fallback warning matches): layers that legitimately cannot be captured
EXPECTED_FALLBACK: dict[str, tuple[str, str]] = {}


def _layer_classes():
    return {n for n in dir(nn) if isinstance(getattr(nn, n), type) and issubclass(getattr(nn, n), nn.Module)}


def test_every_layer_class_is_covered():
    classes = _layer_classes()
    covered = {s.cls for s in LAYERS.values()}
    missing = sorted(classes - covered - set(SKIP))
    assert not missing, f"ts.nn layer classes with no entry in LAYERS (nor SKIP): {missing}"
    assert not covered & set(SKIP), "a class is both tested and skipped"
    assert not (covered | set(SKIP)) - classes, "LAYERS/SKIP name classes ts.nn does not export"
    assert set(EXPECTED_FALLBACK) <= set(LAYERS)


# -- helpers ----------------------------------------------------------------------------------------------
def _leaves(obj):
    """The tensors of a (nested tuple/list) output, in order; None entries are kept as None."""
    if isinstance(obj, ts.Tensor) or obj is None:
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for x in obj for t in _leaves(x)]
    raise TypeError(f"unexpected output type {type(obj).__name__}")


def _inputs(spec, call, requires_grad):
    rng = np.random.default_rng(1000 + call)
    xs = []
    for i, make in enumerate(spec.inputs):
        t = ts.tensor(make(rng))
        if requires_grad and i in spec.diff:
            t.requires_grad_(True)
        xs.append(t)
    return tuple(xs)


def _build(spec, mode):
    ts.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. LSTM's dropout with one layer
        layer = spec.make()
    layer.train(mode == "train")
    return layer, copy.deepcopy(layer)


def _assert_close(got, want, what):
    got, want = _leaves(got), _leaves(want)
    assert len(got) == len(want), f"{what}: {len(got)} outputs, eager gave {len(want)}"
    for k, (a, b) in enumerate(zip(got, want)):
        if b is None or a is None:
            assert a is None and b is None, f"{what}[{k}]: {a!r} vs eager {b!r}"
            continue
        assert tuple(a.shape) == tuple(b.shape), (
            f"{what}[{k}]: shape {tuple(a.shape)} vs eager {tuple(b.shape)}"
        )
        assert a.dtype == b.dtype, f"{what}[{k}]: dtype {a.dtype} vs eager {b.dtype}"
        x, y = a.detach().numpy(), b.detach().numpy()
        if y.dtype.kind in "fc":
            np.testing.assert_allclose(x, y, rtol=RTOL, atol=ATOL, err_msg=f"{what}[{k}]")
        else:
            np.testing.assert_array_equal(x, y, err_msg=f"{what}[{k}]")


def _assert_state_matches(layer, ref):
    for (name, a), (_, b) in zip(layer.named_buffers(), ref.named_buffers()):
        _assert_close(a, b, f"buffer {name}")
    for (name, a), (_, b) in zip(layer.named_parameters(), ref.named_parameters()):
        _assert_close(a, b, f"parameter {name}")


def _run_both(layer_id, backend, make_fn, layer, ref, args_for_call):
    """Three calls of the compiled ``make_fn(layer)`` and of eager ``make_fn(ref)`` on the same inputs and
    seeds; checks outputs, buffers and (no) fallback."""
    spec = LAYERS[layer_id]
    eager_fn = make_fn(ref, spec)
    cf = ts.compile(make_fn(layer, spec), backend=backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for call in range(N_CALLS):
            ts.manual_seed(100 + call)
            want = eager_fn(*args_for_call(call))
            ts.manual_seed(100 + call)
            got = cf(*args_for_call(call))
            _assert_close(got, want, f"call {call} ({'trace' if call == 0 else 'replay'})")
    _assert_state_matches(layer, ref)
    compile_warnings = [str(w.message) for w in caught if "ts.compile" in str(w.message)]
    entries = list(cf._entries.values())
    assert entries, "nothing was compiled"
    if layer_id in EXPECTED_FALLBACK:
        reason, pattern = EXPECTED_FALLBACK[layer_id]
        assert all(e.eager for e in entries), f"expected an eager fallback ({reason})"
        assert any(re.search(pattern, m) for m in compile_warnings), compile_warnings
        return
    fallbacks = [e.reason for e in entries if e.eager]
    assert not fallbacks, f"fell back to eager: {fallbacks}"
    assert not compile_warnings, compile_warnings
    assert len(entries) == 1, f"retraced: {cf.recompiles}"
    assert entries[0].stats["backend"] == backend


def _forward_fn(layer, spec):
    def forward(*xs):
        with ts.no_grad():
            return spec.call(layer, xs)

    return forward


def _grad_fn(layer, spec):
    params = [p for p in layer.parameters() if p.requires_grad]

    def step(xs, grad_outputs):
        out = spec.call(layer, xs)
        outs = [t for t in _leaves(out) if t is not None and t.requires_grad]
        wrt = [xs[i] for i in spec.diff] + params
        grads = ts.autograd.grad(outs, wrt, list(grad_outputs), allow_unused=True)
        return [None if t is None else t.detach() for t in _leaves(out)], list(grads)

    return step


CASES = [(lid, b, m) for lid in LAYERS for b in BACKENDS for m in MODES]


@pytest.mark.parametrize("layer_id,backend,mode", CASES)
def test_forward(layer_id, backend, mode):
    spec = LAYERS[layer_id]
    layer, ref = _build(spec, mode)
    _run_both(layer_id, backend, _forward_fn, layer, ref, lambda call: _inputs(spec, call, False))


@pytest.mark.parametrize("layer_id,backend,mode", CASES)
def test_grad(layer_id, backend, mode):
    spec = LAYERS[layer_id]
    layer, ref = _build(spec, mode)
    # the shapes of the differentiable outputs, from a throwaway copy
    probe = copy.deepcopy(layer)
    ts.manual_seed(0)
    outs = [t for t in _leaves(spec.call(probe, _inputs(spec, 0, True))) if t is not None and t.requires_grad]
    assert outs, "no output requires grad"
    shapes = [tuple(t.shape) for t in outs]

    def args(call):
        rng = np.random.default_rng(5000 + call)
        gos = tuple(ts.tensor(rng.standard_normal(s).astype(np.float32)) for s in shapes)
        return _inputs(spec, call, True), gos

    _run_both(layer_id, backend, _grad_fn, layer, ref, args)
