"""Variable-length sequences for the recurrent layers, as ``torch.nn.utils.rnn``: ``PackedSequence`` and
``pack_padded_sequence`` / ``pad_packed_sequence`` / ``pad_sequence`` / ``pack_sequence`` and their inverses.

Packing and padding are gathers and concatenations of Tessera ops, so gradients flow through them.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from ... import ops
from ...core import creation
from ...core.tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class PackedSequence(NamedTuple):
    """The time-major concatenation of a batch of sequences sorted by decreasing length: ``data`` holds,
    for each step ``t``, the ``batch_sizes[t]`` sequences still running; ``sorted_indices`` maps the sorted
    order back to the batch (None when the batch was already sorted)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs) -> PackedSequence:
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of an index permutation (None stays None)."""
    if permutation is None:
        return None
    inv = np.empty(len(permutation), np.int64)
    inv[permutation.numpy()] = np.arange(len(permutation))
    return creation.tensor(inv)


def _lengths_list(opname: str, lengths, batch: int) -> list[int]:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise RuntimeError(f"{opname}: lengths must be a 1-D tensor, got shape {tuple(lengths.shape)}")
        lengths = lengths.tolist()
    lengths = list(lengths)
    if any(not isinstance(n, numbers.Integral) or isinstance(n, bool) for n in lengths):
        raise TypeError(f"{opname}: lengths must be ints, got {lengths!r}")
    if len(lengths) != batch:
        raise RuntimeError(
            f"{opname}: Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
            f"(batch_size={batch})"
        )
    if any(n <= 0 for n in lengths):
        raise RuntimeError(
            f"{opname}: Length of all samples has to be greater than 0, but found an element in 'lengths' that "
            "is <= 0"
        )
    return [int(n) for n in lengths]


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True):
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of the given
    lengths. With ``enforce_sorted=False`` the batch may be in any order.

    Example:
        >>> x = ts.randn(3, 2, 4)  # T=3, B=2
        >>> packed = pack_padded_sequence(x, [3, 1])
        >>> packed.batch_sizes
        tensor([2, 1, 1])
    """
    name = "pack_padded_sequence"
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError(f"{name}: expected a padded tensor of at least 2 dimensions, got {input!r:.60}")
    if batch_first:
        input = input.transpose(0, 1)
    T, B = input.shape[0], input.shape[1]
    lens = _lengths_list(name, lengths, B)
    if max(lens) > T:
        raise RuntimeError(f"{name}: a length ({max(lens)}) exceeds the padded sequence length {T}")
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError(
                f"{name}: `lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep "
                "this requirement if you do not need ONNX exportability."
            )
        order, sorted_indices = list(range(B)), None
    else:
        order = sorted(range(B), key=lambda i: -lens[i])  # stable, as torch.sort(descending=True)
        sorted_indices = creation.tensor(order)
        input = ops.index_select(input, 1, sorted_indices)
    sorted_lens = [lens[i] for i in order]
    batch_sizes = [sum(1 for n in sorted_lens if n > t) for t in range(sorted_lens[0])]
    data = ops.cat([input[t, :b] for t, b in enumerate(batch_sizes)], 0)
    return PackedSequence(
        data, creation.tensor(batch_sizes), sorted_indices, invert_permutation(sorted_indices)
    )


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length=None
):
    """Undo ``pack_padded_sequence``: ``(padded, lengths)`` in the original batch order.

    Example:
        >>> padded, lengths = pad_packed_sequence(pack_padded_sequence(ts.randn(3, 2, 4), [3, 1]))
        >>> lengths
        tensor([3, 1])
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    batch_sizes = sequence.batch_sizes.tolist()
    T, B = len(batch_sizes), batch_sizes[0]
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                f"Expected total_length to be at least the length of the longest sequence in input, but got "
                f"total_length={total_length} and max sequence length being {T}"
            )
        T_out = int(total_length)
    else:
        T_out = T
    data = sequence.data
    feature = tuple(data.shape[1:])
    steps, start = [], 0
    for b in batch_sizes:
        step = data[start : start + b]
        if b < B:
            pad = creation.full((B - b, *feature), padding_value, dtype=data.dtype)
            step = ops.cat([step, pad], 0)
        steps.append(step)
        start += b
    steps += [creation.full((B, *feature), padding_value, dtype=data.dtype)] * (T_out - T)
    padded = ops.stack(steps, 0)  # (T, B, *) in sorted order
    lengths = np.array([sum(1 for b in batch_sizes if b > i) for i in range(B)], np.int64)
    if sequence.unsorted_indices is not None:
        padded = ops.index_select(padded, 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.numpy()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, creation.tensor(lengths)


def pad_sequence(
    sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"
):
    """Stack sequences of different lengths ``(L_i, *)`` into ``(T, B, *)`` (``(B, T, *)`` with
    ``batch_first``), padding with ``padding_value`` on ``padding_side``.

    Example:
        >>> pad_sequence([ts.ones(2), ts.ones(3)], batch_first=True)
        tensor([[1., 1., 0.],
                [1., 1., 1.]])
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(ops.unbind(sequences, 0))
    sequences = list(sequences)
    if not sequences or not all(isinstance(s, Tensor) for s in sequences):
        raise TypeError("pad_sequence: expected a non-empty sequence of Tensors")
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences:
        if s.ndim == 0 or tuple(s.shape[1:]) != trailing:
            raise RuntimeError(
                f"pad_sequence: every sequence must have shape (L, {', '.join(map(str, trailing))}), got "
                f"{[tuple(x.shape) for x in sequences]}"
            )
    T = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        n = T - s.shape[0]
        if n:
            pad = creation.full((n, *trailing), padding_value, dtype=s.dtype)
            s = ops.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    return ops.stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """Undo ``pad_sequence``: the list of unpadded sequences."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = _lengths_list("unpad_sequence", lengths, padded_sequences.shape[0])
    return [padded_sequences[i, :n] for i, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences ``(L_i, *)`` directly.

    Example:
        >>> pack_sequence([ts.ones(3), ts.ones(2)]).batch_sizes
        tensor([2, 2, 1])
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Undo ``pack_sequence``: the list of sequences, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
