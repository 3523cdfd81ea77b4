"""The torch-level spellings of functional ops (``torch.conv2d``, ``torch.batch_norm``, ``torch.dropout``...),
exported as ``ts.<name>``.

Where PyTorch's top-level function has the functional form's signature it is the same function; where it
follows ATen's schema instead (argument order, ``reduction`` as an int defaulting to none, modes as ints,
extra ``cudnn_enabled`` flags, tuples of results) a thin adapter maps it onto the functional form, so there
is one implementation. The adapters of the losses, norms and dropouts live beside their functional forms
(``loss._torch_kl_div``...); the rest are here.
"""

from __future__ import annotations

from ... import ops
from ...core import creation
from ...core import dtypes as _dt
from ...core.tensor import Tensor
from .. import functional as F  # complete by the time ``ts`` imports this module
from .dropout import _TORCH_FORMS
from .linear import _torch_embedding as embedding
from .loss import _torch_binary_cross_entropy_with_logits as binary_cross_entropy_with_logits
from .loss import _torch_cosine_embedding_loss as cosine_embedding_loss
from .loss import _torch_ctc_loss as ctc_loss
from .loss import _torch_hinge_embedding_loss as hinge_embedding_loss
from .loss import _torch_kl_div as kl_div
from .loss import _torch_margin_ranking_loss as margin_ranking_loss
from .loss import _torch_poisson_nll_loss as poisson_nll_loss
from .loss import _torch_triplet_margin_loss as triplet_margin_loss
from .normalization import _torch_batch_norm as batch_norm
from .normalization import _torch_group_norm as group_norm
from .normalization import _torch_instance_norm as instance_norm
from .normalization import _torch_layer_norm as layer_norm

__all__ = [
    # same signature as the functional form
    "adaptive_avg_pool1d", "avg_pool1d", "bilinear", "celu", "celu_", "channel_shuffle", "conv1d", "conv2d",
    "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "cosine_similarity", "group_norm",
    "hardshrink", "layer_norm", "max_pool1d", "max_pool1d_with_indices", "max_pool2d", "max_pool3d",
    "native_channel_shuffle", "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "prelu",
    "rms_norm", "rrelu", "rrelu_", "selu", "selu_", "threshold", "threshold_",
    # ATen schemas adapted
    "adaptive_max_pool1d", "alpha_dropout", "alpha_dropout_", "batch_norm", "binary_cross_entropy_with_logits",
    "constant_pad_nd", "cosine_embedding_loss", "ctc_loss", "dropout", "dropout_", "embedding",
    "feature_alpha_dropout", "feature_alpha_dropout_", "feature_dropout", "feature_dropout_", "grid_sampler",
    "affine_grid_generator",
    "hinge_embedding_loss", "instance_norm", "kl_div", "margin_ranking_loss", "poisson_nll_loss",
    "triplet_margin_loss", "rsub", "scalar_tensor", "isin", "unravel_index", "fill", "fill_", "zero_", "detach",
    "detach_",
]  # fmt: skip

dropout, dropout_ = _TORCH_FORMS["dropout"], _TORCH_FORMS["dropout_"]
alpha_dropout, alpha_dropout_ = _TORCH_FORMS["alpha_dropout"], _TORCH_FORMS["alpha_dropout_"]
feature_dropout, feature_dropout_ = _TORCH_FORMS["feature_dropout"], _TORCH_FORMS["feature_dropout_"]
feature_alpha_dropout = _TORCH_FORMS["feature_alpha_dropout"]
feature_alpha_dropout_ = _TORCH_FORMS["feature_alpha_dropout_"]
adaptive_avg_pool1d = F.adaptive_avg_pool1d
avg_pool1d = F.avg_pool1d
max_pool1d = F.max_pool1d
max_pool1d_with_indices = F.max_pool1d_with_indices
max_pool2d = F.max_pool2d
max_pool3d = F.max_pool3d
conv1d, conv2d, conv3d = F.conv1d, F.conv2d, F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = (
    F.conv_transpose1d,
    F.conv_transpose2d,
    F.conv_transpose3d,
)
channel_shuffle = F.channel_shuffle
native_channel_shuffle = F.native_channel_shuffle
pixel_shuffle, pixel_unshuffle = F.pixel_shuffle, F.pixel_unshuffle
bilinear = F.bilinear
cosine_similarity = F.cosine_similarity
pairwise_distance = F.pairwise_distance
pdist = F.pdist
rms_norm = F.rms_norm
celu, celu_, selu, selu_ = F.celu, F.celu_, F.selu, F.selu_
hardshrink, prelu = F.hardshrink, F.prelu
rrelu, rrelu_ = F.rrelu, F.rrelu_
threshold, threshold_ = F.threshold, F.threshold_


def adaptive_max_pool1d(input, output_size):
    """``(values, indices)`` of 1-D adaptive max pooling, as ``torch.adaptive_max_pool1d``."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def constant_pad_nd(input, pad, value=0):
    """``torch.constant_pad_nd``: ``F.pad`` in constant mode."""
    return ops.pad(input, tuple(pad), "constant", value)


_INTERPOLATION = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDING = {0: "zeros", 1: "border", 2: "reflection"}


def grid_sampler(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):
    """``torch.grid_sampler``: ``F.grid_sample`` with the modes as ATen's ints."""
    if interpolation_mode not in _INTERPOLATION or padding_mode not in _PADDING:
        raise ValueError(
            f"grid_sampler: interpolation_mode must be 0, 1 or 2 and padding_mode 0, 1 or 2, got "
            f"{interpolation_mode!r} and {padding_mode!r}"
        )
    return F.grid_sample(
        input, grid, _INTERPOLATION[interpolation_mode], _PADDING[padding_mode], align_corners
    )


def affine_grid_generator(theta, size, align_corners: bool):
    return F.affine_grid(theta, list(size), align_corners)


def rsub(input, other, alpha=1):
    """``other - alpha * input``.

    Example:
        >>> ts.rsub(ts.tensor([1.0, 2.0]), 10)
        tensor([9., 8.])
    """
    return other - (input if alpha == 1 else input * alpha)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=None):
    """A 0-d tensor holding ``s`` (default float dtype unless ``dtype`` is given)."""
    if dtype is None and not isinstance(s, bool):
        dtype = _dt._default_float
    return creation.tensor(s, dtype=dtype, device=device)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """Whether each of ``elements`` occurs in ``test_elements`` (either may be a number).

    Example:
        >>> ts.isin(ts.tensor([1, 2, 3]), ts.tensor([2, 5]))
        tensor([False,  True, False])
    """
    if not isinstance(elements, Tensor):
        elements = creation.tensor(elements)
    if not isinstance(test_elements, Tensor):
        test_elements = creation.tensor(test_elements)
    flat = test_elements.flatten()
    if flat.numel() == 0:
        found = creation.zeros(tuple(elements.shape), dtype=_dt.bool)
    else:
        table = ops.sort(flat).values
        position = ops.searchsorted(table, elements.contiguous()).clamp(max=flat.numel() - 1)
        found = table[position] == elements
    return ~found if invert else found


def unravel_index(indices, shape):
    """The coordinates of flat ``indices`` in an array of ``shape``, as a tuple of tensors.

    Example:
        >>> ts.unravel_index(ts.tensor(5), (2, 3))
        (tensor(1), tensor(2))
    """
    if not isinstance(indices, Tensor):
        indices = creation.tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype == _dt.bool:
        raise TypeError(f"unravel_index: expected 'indices' to be an integer tensor, but got {indices.dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    total = 1
    for s in shape:
        if s < 0:
            raise ValueError(
                "unravel_index: 'shape' cannot have negative values, but got " + str(tuple(shape))
            )
        total *= s
    if indices.numel() and (int(indices.min()) < -total or int(indices.max()) >= total):
        raise ValueError("unravel_index: 'indices' must be in range [-" + str(total) + f", {total - 1}]")
    rest = ops.remainder(indices, total) if total else indices
    coords = []
    for s in reversed(shape):
        coords.append(ops.remainder(rest, s))
        rest = ops.floor_divide(rest, s)
    return tuple(reversed(coords))


def fill(input, value):
    """A new tensor of ``input``'s shape and dtype filled with ``value``."""
    return creation.full_like(input, value.item() if isinstance(value, Tensor) else value)


def fill_(input, value):
    return input.fill_(value)


def zero_(input):
    return input.zero_()


def detach(input):
    return input.detach()


def detach_(input):
    return input.detach_()
