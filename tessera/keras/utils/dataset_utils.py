"""``keras.utils`` data pipelines: ``PyDataset`` (alias ``Sequence``), ``split_dataset``,
``timeseries_dataset_from_array`` and the ``*_dataset_from_directory`` builders.

Keras returns ``tf.data`` datasets from the builders; here they return ``BatchDataset`` objects: a
``PyDataset`` of ready batches (``len``, indexing, iteration) that ``Model.fit`` takes directly, with the
builders' extra attributes (``class_names``, ``file_paths``). ``split_dataset`` returns ``ts.data`` map-style
datasets of single samples, which ``fit`` batches itself.
"""

from __future__ import annotations

import concurrent.futures
import math
import numbers
import os

import numpy as np

from ...data import Dataset

__all__ = [
    "PyDataset",
    "Sequence",
    "BatchDataset",
    "split_dataset",
    "timeseries_dataset_from_array",
    "image_dataset_from_directory",
    "text_dataset_from_directory",
    "audio_dataset_from_directory",
]


class PyDataset:
    """Base class for Python data generators (Keras 3's ``PyDataset``): implement ``__getitem__(index)``
    returning one batch ``x``, ``(x, y)`` or ``(x, y, sample_weight)`` and ``__len__`` (or the ``num_batches``
    property); ``on_epoch_begin``/``on_epoch_end`` run around each epoch. ``workers > 1`` loads batches
    ahead in that many threads (``use_multiprocessing`` is accepted; threads are used either way).

    Example:
        >>> class Batches(PyDataset):
        ...     def __len__(self):
        ...         return 2
        ...     def __getitem__(self, i):
        ...         return np.full((4, 3), i, "float32"), np.zeros((4, 1), "float32")
        >>> len(Batches()), Batches()[1][0][0, 0]
        (2, 1.0)
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        for arg, v in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{type(self).__name__}: {arg} must be a positive int, got {v!r}")
        self._workers = int(workers)
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = int(max_queue_size)

    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index)")

    @property
    def num_batches(self) -> int | None:
        """The number of batches (``len(self)`` unless overridden; ``None`` for an infinite dataset)."""
        if type(self).__len__ is not PyDataset.__len__:
            return len(self)
        return None

    def __len__(self) -> int:
        n = self.num_batches if type(self).num_batches is not PyDataset.num_batches else None
        if n is None:
            raise TypeError(f"{type(self).__name__} must implement __len__ or the num_batches property")
        return int(n)

    def on_epoch_begin(self) -> None:
        """Called at the start of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch (e.g. to reshuffle)."""

    def _keras_batches(self, num_batches: int | None):
        """The batches of one epoch, loaded ahead by ``workers`` threads when ``workers > 1``."""
        indices = range(num_batches) if num_batches is not None else _count()
        if self.workers <= 1:
            for i in indices:
                yield self[i]
            return
        with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
            pending = []
            it = iter(indices)
            for i in it:
                pending.append(pool.submit(self.__getitem__, i))
                if len(pending) >= self.max_queue_size:
                    break
            while pending:
                yield pending.pop(0).result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(pool.submit(self.__getitem__, nxt))

    def __iter__(self):
        return self._keras_batches(self.num_batches)


def _count():
    i = 0
    while True:
        yield i
        i += 1


Sequence = PyDataset


class BatchDataset(PyDataset):
    """Batches of arrays built by the dataset builders: ``batch(i)`` makes batch ``i``; reshuffled after
    each epoch when ``shuffle`` (with its own seeded NumPy generator, as ``tf.data``'s reshuffle)."""

    def __init__(self, n: int, batch_size: int | None, make_batch, shuffle: bool = False, seed=None) -> None:
        super().__init__()
        self._n = int(n)
        self._batch_size = batch_size
        self._make = make_batch
        self._shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(self._n) if shuffle else np.arange(self._n)

    def __len__(self) -> int:
        if self._batch_size is None:
            return self._n
        return math.ceil(self._n / self._batch_size)

    def __getitem__(self, index: int):
        if not isinstance(index, numbers.Integral):
            raise TypeError(f"{type(self).__name__}: batch index must be an int, got {index!r}")
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"{type(self).__name__}: batch index {index} out of range for {n} batches")
        if self._batch_size is None:
            return self._make(self._order[index : index + 1], single=True)
        bs = self._batch_size
        return self._make(self._order[index * bs : (index + 1) * bs], single=False)

    def on_epoch_end(self) -> None:
        if self._shuffle:
            self._order = self._rng.permutation(self._n)


# -- split_dataset ------------------------------------------------------------------------------------------
class _SampleDataset(Dataset):
    """Samples ``indices`` of a tuple/dict of arrays, or of a map-style dataset."""

    def __init__(self, source, indices: np.ndarray) -> None:
        self._source, self._indices = source, indices

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, i):
        j = int(self._indices[i])
        src = self._source
        if isinstance(src, tuple):
            return tuple(a[j] for a in src)
        if isinstance(src, dict):
            return {k: a[j] for k, a in src.items()}
        if isinstance(src, np.ndarray):
            return src[j]
        return src[j]


def _split_sizes(total: int, left_size, right_size) -> tuple[int, int]:
    def resolve(v, name):
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or v <= 0:
            raise TypeError(
                f"split_dataset: {name} must be a positive float in (0, 1) or a positive int, got {v!r}"
            )
        if isinstance(v, numbers.Integral):
            if v > total:
                raise ValueError(f"split_dataset: {name}={v} is larger than the dataset size ({total})")
            return int(v)
        if not 0 < v < 1:
            raise ValueError(f"split_dataset: a float {name} must be in (0, 1), got {v}")
        return int(round(v * total))

    left, right = resolve(left_size, "left_size"), resolve(right_size, "right_size")
    if left is None and right is None:
        left = int(round(0.5 * total))
    if left is None:
        left = total - right
    if right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"split_dataset: left_size + right_size ({left} + {right}) is larger than the dataset size ({total})"
        )
    if left == 0 or right == 0:
        raise ValueError(
            f"split_dataset: both splits must be non-empty; got {left} and {right} of {total} samples"
        )
    return left, right


def split_dataset(dataset, left_size=None, right_size=None, shuffle: bool = False, seed=None, **kwargs):
    """Split a dataset (an array, a tuple/dict of arrays or a map-style dataset) into two: the first
    ``left_size`` samples (a fraction or a count) and the next ``right_size`` (default: the rest).

    Example:
        >>> left, right = split_dataset(np.arange(10), left_size=0.8)
        >>> len(left), len(right)
        (8, 2)
    """
    kwargs.pop("preferred_backend", None)
    if kwargs:
        raise TypeError(f"split_dataset: unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    if isinstance(dataset, list):
        dataset = (
            tuple(dataset)
            if all(hasattr(a, "__len__") and not isinstance(a, str) for a in dataset)
            else (np.asarray(dataset))
        )
    if isinstance(dataset, tuple):
        source = tuple(np.asarray(a) if not hasattr(a, "shape") else a for a in dataset)
        sizes = {len(a) for a in source}
    elif isinstance(dataset, dict):
        source = {k: np.asarray(a) if not hasattr(a, "shape") else a for k, a in dataset.items()}
        sizes = {len(a) for a in source.values()}
    elif hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__"):
        source = dataset
        sizes = {len(dataset)}
    else:
        raise TypeError(
            "split_dataset: dataset must be an array, a tuple/dict of arrays or a map-style dataset, got "
            f"{type(dataset).__name__}"
        )
    if len(sizes) != 1:
        raise ValueError(f"split_dataset: the arrays have different lengths: {sorted(sizes)}")
    total = sizes.pop()
    left, right = _split_sizes(total, left_size, right_size)
    order = np.random.default_rng(seed).permutation(total) if shuffle else np.arange(total)
    return _SampleDataset(source, order[:left]), _SampleDataset(source, order[left : left + right])


# -- timeseries ---------------------------------------------------------------------------------------------
def _positive(who: str, name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {v!r}")
    return int(v)


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length: int,
    sequence_stride: int = 1,
    sampling_rate: int = 1,
    batch_size: int | None = 128,
    shuffle: bool = False,
    seed=None,
    start_index: int | None = None,
    end_index: int | None = None,
    **kwargs,
) -> BatchDataset:
    """Sliding windows over a time series: window ``i`` is ``data[start + i * sequence_stride :: sampling_rate]``
    of ``sequence_length`` steps, with target ``targets[start + i * sequence_stride]``.

    Example:
        >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, batch_size=4)
        >>> ds[0].tolist()
        [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    """
    who = "timeseries_dataset_from_array"
    kwargs.pop("format", None)
    if kwargs:
        raise TypeError(f"{who}: unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    data = np.asarray(data)
    sequence_length = _positive(who, "sequence_length", sequence_length)
    sequence_stride = _positive(who, "sequence_stride", sequence_stride)
    sampling_rate = _positive(who, "sampling_rate", sampling_rate)
    if batch_size is not None:
        batch_size = _positive(who, "batch_size", batch_size)
    start = 0 if start_index is None else int(start_index)
    end = len(data) if end_index is None else int(end_index)
    if not 0 <= start < len(data):
        raise ValueError(f"{who}: start_index must be in [0, {len(data)}), got {start_index!r}")
    if not start < end <= len(data):
        raise ValueError(f"{who}: end_index must be in ({start}, {len(data)}], got {end_index!r}")
    span = (sequence_length - 1) * sampling_rate
    n_seqs = end - start - span
    if targets is not None:
        targets = np.asarray(targets)
        n_seqs = min(n_seqs, len(targets))
    starts = start + np.arange(0, max(n_seqs, 0), sequence_stride)
    if shuffle:  # once, as Keras: the windows' order is fixed for all epochs
        seed = np.random.randint(1_000_000) if seed is None else seed
        np.random.RandomState(seed).shuffle(starts)
    n = len(starts)
    steps = np.arange(sequence_length) * sampling_rate

    def make(idx, single):
        windows = data[starts[idx][:, None] + steps]
        if single:
            windows = windows[0]
        if targets is None:
            return windows
        t = targets[starts[idx]]
        return windows, (t[0] if single else t)

    return BatchDataset(n, batch_size, make)


# -- *_dataset_from_directory -------------------------------------------------------------------------------
_IMAGE_EXTS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _index_directory(who, directory, labels, formats, class_names, follow_links, shuffle, seed):
    if not os.path.isdir(directory):
        raise ValueError(f"{who}: directory {directory!r} does not exist or is not a directory")
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError(f'{who}: labels must be "inferred", None or a list/tuple of labels, got {labels!r}')
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
        if class_names is not None:
            if sorted(class_names) != sorted(subdirs) and set(class_names) - set(subdirs):
                raise ValueError(
                    f"{who}: class_names {list(class_names)} do not match the subdirectories of {directory!r}: "
                    f"{subdirs}"
                )
            subdirs = list(class_names)
        roots = [(i, os.path.join(directory, d)) for i, d in enumerate(subdirs)]
    else:
        subdirs, roots = [], [(None, directory)]
    paths, label_ids = [], []
    for label, root in roots:
        found = []
        for dirpath, _, files in os.walk(root, followlinks=follow_links):
            found += [os.path.join(dirpath, f) for f in files if f.lower().endswith(formats)]
        found.sort()
        paths += found
        label_ids += [label] * len(found)
    if isinstance(labels, (list, tuple, np.ndarray)):
        if len(labels) != len(paths):
            raise ValueError(
                f"{who}: expected the lengths of labels to match the number of files in the target directory. "
                f"len(labels) is {len(labels)} while we found {len(paths)} files in directory {directory}."
            )
        label_ids = list(labels)
    order = np.random.default_rng(seed).permutation(len(paths)) if shuffle else np.arange(len(paths))
    paths = [paths[i] for i in order]
    label_ids = [label_ids[i] for i in order]
    return paths, label_ids, subdirs


def _split_subset(who, paths, labels, validation_split, subset, seed, shuffle):
    if validation_split is None:
        if subset is not None:
            raise ValueError(f"{who}: subset={subset!r} needs validation_split")
        return [(paths, labels)]
    if not 0 < validation_split < 1:
        raise ValueError(f"{who}: validation_split must be between 0 and 1, got {validation_split!r}")
    if subset not in ("training", "validation", "both"):
        raise ValueError(f'{who}: subset must be "training", "validation" or "both", got {subset!r}')
    n_val = int(validation_split * len(paths))
    train = (paths[: len(paths) - n_val], labels[: len(paths) - n_val])
    val = (paths[len(paths) - n_val :], labels[len(paths) - n_val :])
    return {"training": [train], "validation": [val], "both": [train, val]}[subset]


def _encode_labels(who, label_ids, label_mode, num_classes):
    if label_mode is None:
        return None
    ids = np.asarray(label_ids)
    if label_mode == "int":
        return ids.astype("int32")
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[ids.astype("int64")]
    if label_mode == "binary":
        if num_classes != 2:
            raise ValueError(f'{who}: label_mode="binary" needs exactly 2 classes, found {num_classes}')
        return ids.astype("float32")[:, None]
    raise ValueError(f'{who}: label_mode must be "int", "categorical", "binary" or None, got {label_mode!r}')


def _from_directory(who, directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                    validation_split, subset, follow_links, formats, load, verbose):  # fmt: skip
    if labels is None:
        label_mode = None
    if batch_size is not None:
        batch_size = _positive(who, "batch_size", batch_size)
    if validation_split is not None and shuffle and seed is None:
        raise ValueError(f"{who}: if using validation_split and shuffling the data, you must provide a seed")
    if seed is None and shuffle:
        seed = int(np.random.default_rng().integers(1_000_000))
    paths, label_ids, names = _index_directory(
        who, directory, labels, formats, class_names, follow_links, shuffle, seed
    )
    if not paths:
        raise ValueError(f"{who}: no files found in directory {directory!r}. Allowed formats: {formats}")
    num_classes = (
        len(names) if names else len(set(label_ids)) if label_ids and label_ids[0] is not None else 0
    )
    if verbose:
        classes = f" belonging to {num_classes} classes" if labels == "inferred" else ""
        print(f"Found {len(paths)} files{classes}.")
    out = []
    for part_paths, part_labels in _split_subset(
        who, paths, label_ids, validation_split, subset, seed, shuffle
    ):
        encoded = _encode_labels(who, part_labels, label_mode, num_classes)

        def make(idx, single, part_paths=part_paths, encoded=encoded):
            xs = load([part_paths[i] for i in idx])
            if single:
                xs = xs[0]
            if encoded is None:
                return xs
            ys = encoded[idx]
            return xs, (ys[0] if single else ys)

        ds = BatchDataset(len(part_paths), batch_size, make, shuffle=shuffle, seed=seed)
        ds.class_names = list(names) if names else None
        ds.file_paths = list(part_paths)
        out.append(ds)
    return out if subset == "both" else out[0]


def image_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode: str | None = "int",
    class_names=None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size=(256, 256),
    shuffle: bool = True,
    seed=None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format=None,
    verbose: bool = True,
    **kwargs,
):
    """Batches of images (float32, ``image_size``) and labels from a directory with one subdirectory per
    class (``labels="inferred"``). Needs Pillow to decode images.

    Example:
        >>> ds = image_dataset_from_directory("flowers/", image_size=(64, 64), batch_size=8)  # doctest: +SKIP
        >>> ds.class_names  # doctest: +SKIP
        ['daisy', 'rose']
    """
    from .image_utils import _channels, load_img

    who = "image_dataset_from_directory"
    kwargs.pop("format", None)
    if kwargs:
        raise TypeError(f"{who}: unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    _channels(who, color_mode)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{who}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True")
    if len(tuple(image_size)) != 2:
        raise ValueError(f"{who}: image_size must be (height, width), got {image_size!r}")
    from .. import config

    fmt = data_format or config.image_data_format()

    def load(paths):
        arrays = []
        for p in paths:
            img = load_img(p, color_mode=color_mode, target_size=tuple(image_size), interpolation=interpolation,
                           keep_aspect_ratio=crop_to_aspect_ratio, pad_to_aspect_ratio=pad_to_aspect_ratio)  # fmt: skip
            a = np.asarray(img, dtype="float32")
            if a.ndim == 2:
                a = a[..., None]
            arrays.append(np.moveaxis(a, -1, 0) if fmt == "channels_first" else a)
        return np.stack(arrays)

    return _from_directory(who, directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                           validation_split, subset, follow_links, _IMAGE_EXTS, load, verbose)  # fmt: skip


def text_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode: str | None = "int",
    class_names=None,
    batch_size: int | None = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed=None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
    **kwargs,
):
    """Batches of texts (NumPy string arrays, each truncated to ``max_length`` characters) and labels from a
    directory of ``.txt`` files with one subdirectory per class.

    Example:
        >>> ds = text_dataset_from_directory("reviews/", batch_size=16)  # doctest: +SKIP
    """
    who = "text_dataset_from_directory"
    kwargs.pop("format", None)
    if kwargs:
        raise TypeError(f"{who}: unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    if max_length is not None:
        max_length = _positive(who, "max_length", max_length)

    def load(paths):
        texts = []
        for p in paths:
            with open(p, encoding="utf-8", errors="replace") as f:
                t = f.read()
            texts.append(t[:max_length] if max_length else t)
        return np.array(texts, dtype=object)

    return _from_directory(who, directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                           validation_split, subset, follow_links, (".txt",), load, verbose)  # fmt: skip


def audio_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode: str | None = "int",
    class_names=None,
    batch_size: int | None = 32,
    sampling_rate: int | None = None,
    output_sequence_length: int | None = None,
    ragged: bool = False,
    shuffle: bool = True,
    seed=None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
):
    """Batches of audio (float32 ``(batch, samples, channels)`` in [-1, 1], zero-padded to the longest clip or
    cut to ``output_sequence_length``) and labels from a directory of PCM ``.wav`` files.

    Example:
        >>> ds = audio_dataset_from_directory("speech/", batch_size=4)  # doctest: +SKIP
    """
    who = "audio_dataset_from_directory"
    if sampling_rate is not None:
        raise ValueError(
            f"{who}: sampling_rate needs resampling, which is not available; pass sampling_rate=None"
        )
    if ragged:
        raise ValueError(
            f"{who}: ragged=True is not supported (no ragged tensors); use output_sequence_length"
        )
    if output_sequence_length is not None:
        output_sequence_length = _positive(who, "output_sequence_length", output_sequence_length)

    def load(paths):
        clips = [_read_wav(who, p) for p in paths]
        n = output_sequence_length or max(len(c) for c in clips)
        out = np.zeros((len(clips), n, clips[0].shape[1]), dtype="float32")
        for i, c in enumerate(clips):
            c = c[:n]
            out[i, : len(c), : c.shape[1]] = c
        return out

    return _from_directory(who, directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                           validation_split, subset, follow_links, (".wav",), load, verbose)  # fmt: skip


def _read_wav(who: str, path: str) -> np.ndarray:
    import wave

    try:
        with wave.open(path, "rb") as w:
            width, channels, frames = w.getsampwidth(), w.getnchannels(), w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"{who}: cannot decode {path!r} as PCM WAV: {e}") from None
    if width == 1:
        data = (np.frombuffer(frames, np.uint8).astype("float32") - 128.0) / 128.0
    elif width in (2, 4):
        dt = np.int16 if width == 2 else np.int32
        data = np.frombuffer(frames, dt).astype("float32") / float(np.iinfo(dt).max + 1)
    else:
        raise ValueError(f"{who}: unsupported sample width {width} bytes in {path!r}")
    return data.reshape(-1, channels)
