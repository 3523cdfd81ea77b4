"""Vocabulary layers: ``StringLookup``, ``IntegerLookup``, ``TextVectorization``, ``Hashing`` and
``HashedCrossing``.

Vocabularies, tokenization and lookups are host-side (as in Keras, where they run eagerly through
``tf.lookup``): inputs are Python strings/ints, lists, NumPy arrays (str, bytes, object, int) or int tensors;
lookups give int64 tensors and the ``one_hot``/``multi_hot``/``count``/``tf_idf`` encodings are Tessera ops.

An adapted vocabulary is kept in ``get_config()["vocabulary"]`` (Keras writes it as a separate asset file),
so ``from_config(get_config())`` rebuilds the same lookup.

Hash values are Keras's: FarmHash ``Fingerprint64`` (``tf.strings.to_hash_bucket_fast``), SipHash-2-4 when
salted and ``FingerprintCat64`` crosses (see ``_hashing``), so ``Hashing``, ``HashedCrossing`` and the extra
OOV buckets of ``StringLookup`` give Keras's bins.
"""

from __future__ import annotations

import collections
import re

import numpy as np

from ....core import creation
from ....core import dtypes as _dt
from ....core.tensor import Tensor
from ..base import Layer, in_symbolic_call
from ._common import ENCODING_MODES, check_choice, check_int, encode_categorical, iter_batches, to_host
from ._hashing import CROSS_HASH_KEY, fingerprint64, fingerprint_cat64, siphash24

__all__ = ["StringLookup", "IntegerLookup", "TextVectorization", "Hashing", "HashedCrossing"]

_INT64_MAX = np.iinfo(np.int64).max
_UINT64 = (1 << 64) - 1
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fingerprint(token: str, salt=None) -> int:
    """Keras's 64-bit string hash: FarmHash Fingerprint64, or SipHash-2-4 keyed by the two ints of ``salt``."""
    data = token.encode("utf-8")
    if salt is None:
        return fingerprint64(data)
    return siphash24(int(salt[0]) & _UINT64, int(salt[1]) & _UINT64, data)


def _as_strings(layer: str, x) -> np.ndarray:
    """``x`` as a NumPy object array of Python ``str`` (bytes decoded as UTF-8)."""
    arr = to_host(x) if not isinstance(x, (list, tuple, str, bytes)) else np.asarray(x, dtype=object)
    if arr.dtype.kind == "S":
        arr = np.char.decode(arr, "utf-8")
    if arr.dtype.kind not in "UOS":
        raise TypeError(f"{layer}: expected string inputs, got an array of dtype {arr.dtype}")
    out = np.empty(arr.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(arr.reshape(-1)):
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        elif not isinstance(v, str):
            raise TypeError(f"{layer}: expected string inputs, got {v!r} ({type(v).__name__})")
        flat[i] = str(v)
    return out


def _as_ints(layer: str, x) -> np.ndarray:
    arr = to_host(x)
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        raise TypeError(f"{layer}: expected integer inputs, got an array of dtype {arr.dtype}")
    return arr.astype(np.int64)


def _salt_pair(layer: str, salt):
    if salt is None:
        return None
    if isinstance(salt, (list, tuple)) and len(salt) == 2 and all(isinstance(s, int) for s in salt):
        return [int(s) for s in salt]
    if isinstance(salt, int) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(f"{layer}: `salt` must be an int or a tuple of 2 ints, got {salt!r}")


def _symbolic_placeholder(layer, inputs):
    """While a model infers shapes with numeric placeholders (``Sequential`` builds on float zeros, having no
    string dtype), a zero tensor of the layer's output shape (unknown sizes as 1), else None."""
    if not (in_symbolic_call() and isinstance(inputs, Tensor)):
        return None
    shape = layer.compute_output_shape(tuple(inputs.shape))
    shape = tuple(1 if d is None else d for d in shape)
    mode = getattr(layer, "_output_mode", getattr(layer, "output_mode", "int"))
    return creation.zeros(shape, dtype=_dt.int64 if mode == "int" else _dt.float32)


class _IndexLookup(Layer):
    """Maps tokens to indices ``[mask] + [OOV] * num_oov_indices + vocabulary`` (or back, with ``invert``)."""

    _autocast = False
    _string = True

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices: int = 1,
        mask_token=None,
        oov_token=None,
        vocabulary=None,
        idf_weights=None,
        invert: bool = False,
        output_mode: str = "int",
        sparse: bool = False,
        pad_to_max_tokens: bool = False,
        name: str | None = None,
        **kwargs,
    ):
        cls = type(self).__name__
        frozen_vocab_size = kwargs.pop("vocabulary_size", None)
        kwargs.pop("vocabulary_dtype", None)
        oov_method = kwargs.pop("oov_method", "floormod")  # strings always hash (FarmHash), as Keras
        salt = kwargs.pop("salt", None)
        kwargs.pop("encoding", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        super().__init__(name=name, **kwargs)
        self._frozen_vocab_size = frozen_vocab_size
        if max_tokens is not None:
            max_tokens = check_int(cls, "max_tokens", max_tokens)
            if max_tokens <= 1:
                raise ValueError(
                    f"{cls}: if set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}"
                )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(
                f"{cls}: if pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens=None"
            )
        num_oov_indices = check_int(cls, "num_oov_indices", num_oov_indices, minimum=0)
        check_choice(cls, "oov_method", oov_method, ("floormod", "farmhash"))
        if salt is not None and not self._string and oov_method != "farmhash":
            raise ValueError(
                f"{cls}: `salt` can only be used when `oov_method='farmhash'`. Received: oov_method={oov_method}"
            )
        self.oov_method, self.salt = oov_method, _salt_pair(cls, salt)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        check_choice(cls, "output_mode", output_mode, ENCODING_MODES)
        if invert and output_mode != "int":
            raise ValueError(
                f"{cls}: `output_mode` must be `'int'` when `invert` is true. Received: output_mode={output_mode}"
            )
        if sparse:
            raise ValueError(
                f"{cls}: sparse outputs are not supported (Tessera has dense tensors only); got sparse=True"
            )
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                f"{cls}: `idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                f"Received: idf_weights={idf_weights} and output_mode={output_mode}"
            )
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError(
                f"{cls}: when specifying the `vocabulary` argument in TF-IDF output mode, the `idf_weights` "
                "argument must also be provided."
            )
        self.max_tokens, self.num_oov_indices = max_tokens, num_oov_indices
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode = bool(invert), output_mode
        self.sparse, self.pad_to_max_tokens = False, bool(pad_to_max_tokens)
        self.input_vocabulary = None if vocabulary is None else self._listify(vocabulary)
        self.input_idf_weights = None if idf_weights is None else np.asarray(idf_weights, np.float32).tolist()
        self._has_input_vocabulary = bool(has_input_vocabulary)
        self._tokens: list = []
        self._index: dict = {}
        self._idf = None
        self._counts: collections.Counter = collections.Counter()
        self._doc_counts: collections.Counter = collections.Counter()
        self._num_docs = 0
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- conversions (overridden by StringLookup / IntegerLookup) --------------------------------------------
    def _keys(self, x) -> np.ndarray:
        raise NotImplementedError

    def _listify(self, vocabulary) -> list:
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding="utf-8") as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines
        return self._keys(vocabulary).reshape(-1).tolist()

    def _convert(self, x, dtype):
        return x  # lookups read their inputs on the host

    # -- vocabulary -----------------------------------------------------------------------------------------
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The size of the vocabulary, including the mask and OOV indices.

        Example:
            >>> ts.keras.layers.StringLookup(vocabulary=["a", "b"]).vocabulary_size()
            3
        """
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary, by index (mask and OOV tokens first unless ``include_special_tokens=False``).

        Example:
            >>> ts.keras.layers.StringLookup(vocabulary=["a", "b"]).get_vocabulary()
            ['[UNK]', 'a', 'b']
        """
        vocab = [self.oov_token] * self._token_start_index() + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[self._token_start_index() :]

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Replace the vocabulary (a list/array of tokens or a text file with one token a line), with the
        ``idf_weights`` in ``tf_idf`` mode. A leading ``[mask] + [oov] * num_oov_indices`` is accepted."""
        cls = type(self).__name__
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{cls}: `idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(
                f"{cls}: `idf_weights` should only be set if output_mode is `'tf_idf'`. "
                f"Received: output_mode={self.output_mode} and idf_weights={idf_weights}"
            )
        tokens = self._listify(vocabulary)
        if not tokens:
            raise ValueError(f"{cls}: cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        found_special = tokens[: len(special)] == special
        if found_special:
            tokens = tokens[len(special) :]
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(
                f"{cls}: the passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                f"The repeated terms are: {repeated}"
            )
        for token, arg, check in (
            (self.mask_token, "mask_token", True),
            (self.oov_token, "oov_token", self.invert),
        ):
            if check and token is not None and token in tokens:
                raise ValueError(
                    f"{cls}: found reserved {arg} {token!r} at unexpected location in `vocabulary`. Either remove "
                    f"all mask and OOV tokens, or include them only at the start in precisely this order: {special}"
                )
        size = len(special) + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(
                f"{cls}: attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                f"size is {size}; `max_tokens` is {self.max_tokens}."
            )
        idf = None
        if idf_weights is not None:
            idf = np.asarray(to_host(idf_weights), dtype=np.float64)
            n_given = len(tokens) + (len(special) if found_special else 0)
            if idf.ndim != 1 or len(idf) != n_given:
                raise ValueError(
                    f"{cls}: `idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                    f"{idf.size}; len(vocabulary) is {n_given}"
                )
            front = 0 if found_special else len(special)
            back = self.max_tokens - front - len(idf) if self.pad_to_max_tokens else 0
            idf = np.concatenate([np.full(front, idf.mean()), idf, np.zeros(max(back, 0))])
        self._check_frozen(size)
        self._tokens = tokens
        self._index = {t: i + len(special) for i, t in enumerate(tokens)}
        self._idf = None if idf is None else idf.astype(np.float32)
        self._record_vocabulary_size()

    def _check_frozen(self, new_size: int) -> None:
        if self.output_mode == "int" or self.pad_to_max_tokens or self._frozen_vocab_size is None:
            return
        if self.built_called and new_size != self._frozen_vocab_size:
            raise RuntimeError(
                f"{type(self).__name__}: when using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, "
                f"the vocabulary size cannot be changed after the layer is called. Old vocab size is "
                f"{self._frozen_vocab_size}, new vocab size is {new_size}"
            )

    built_called = False

    def _record_vocabulary_size(self) -> None:
        self._frozen_vocab_size = self.vocabulary_size()

    # -- adapt ----------------------------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn the vocabulary from ``data`` (an array, list, tensor or an iterable of batches): tokens by
        descending frequency (ties: the larger token first), truncated to ``max_tokens``.

        Example:
            >>> layer = ts.keras.layers.StringLookup()
            >>> layer.adapt(["b", "a", "b"])
            >>> layer.get_vocabulary()
            ['[UNK]', 'b', 'a']
        """
        cls = type(self).__name__
        if self._has_input_vocabulary:
            raise ValueError(
                f"{cls}: cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                "argument or `set_vocabulary()` method."
            )
        self.reset_state()
        for batch in iter_batches(cls, data, batch_size, steps):
            self.update_state(batch)
        self.finalize_state()

    def reset_state(self) -> None:
        self._counts, self._doc_counts, self._num_docs = collections.Counter(), collections.Counter(), 0

    def update_state(self, data) -> None:
        keys = self._keys(data)
        if keys.ndim <= 1:
            keys = keys.reshape(1, -1)  # a rank-1 batch is one document
        self._update_counts([list(row.reshape(-1)) for row in keys])

    def _update_counts(self, documents: list) -> None:
        for doc in documents:
            self._counts.update(doc)
            if self.output_mode == "tf_idf":
                self._doc_counts.update(set(doc))
        self._num_docs += len(documents)

    def finalize_state(self) -> None:
        counts = dict(self._counts)
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        if not counts:
            return
        # Keras's order: count descending, ties broken by the token, descending (np.lexsort(...)[::-1])
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens:
            tokens = tokens[: self.max_tokens - self._token_start_index()]
        size = self._token_start_index() + len(tokens)
        self._check_frozen(size)
        self._tokens = tokens
        self._index = {t: i + self._token_start_index() for i, t in enumerate(tokens)}
        if self.output_mode == "tf_idf":
            df = np.array([self._doc_counts[t] for t in tokens], dtype=np.float64)
            idf = np.log(1.0 + self._num_docs / (1.0 + df))
            pieces = [np.full(self._token_start_index(), idf.mean()), idf]
            if self.pad_to_max_tokens:
                pieces.append(np.zeros(self.max_tokens - size))
            self._idf = np.concatenate(pieces).astype(np.float32)
        self.reset_state()
        self._record_vocabulary_size()

    # -- call -----------------------------------------------------------------------------------------------
    def _oov_bucket(self, key) -> int:
        return _fingerprint(str(key), self.salt) % self.num_oov_indices

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        cls = type(self).__name__
        flat = keys.reshape(-1)
        out = np.empty(flat.shape, dtype=np.int64)
        oov_start, mask, index = self._oov_start_index(), self.mask_token, self._index
        dropped = 0 if self.output_mode == "int" else -1
        missing = []
        for i, k in enumerate(flat.tolist()):
            j = index.get(k)
            if j is None:
                if mask is not None and k == mask:
                    j = dropped
                elif self.num_oov_indices == 0:
                    missing.append(k)
                    j = -1
                elif self.num_oov_indices == 1:
                    j = oov_start
                else:
                    j = oov_start + self._oov_bucket(k)
            out[i] = j
        if missing:
            raise ValueError(
                f"{cls}: when `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                f"{missing[:10]}, consider setting `num_oov_indices=1`."
            )
        return out.reshape(keys.shape)

    def _invert(self, indices: np.ndarray) -> np.ndarray:
        vocab = self.get_vocabulary()
        flat = indices.reshape(-1)
        out = [vocab[j] if 0 <= j < len(vocab) else self.oov_token for j in flat.tolist()]
        if self.mask_token is not None:
            out = [self.mask_token if j == 0 else v for j, v in zip(flat.tolist(), out)]
        return self._invert_array(out, indices.shape)

    def _invert_array(self, values: list, shape) -> object:
        return np.array(values, dtype=object).reshape(shape)

    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return self.max_tokens
        if self._frozen_vocab_size is None:
            raise RuntimeError(
                f"{type(self).__name__}: when using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, "
                "you must set the layer's vocabulary before calling it. Either pass a `vocabulary` argument to "
                "the layer, or call `adapt` with some sample data."
            )
        return self._frozen_vocab_size

    def _encode(self, lookups: np.ndarray) -> Tensor:
        if self.output_mode == "int":
            return creation.as_tensor(lookups)
        depth = self._depth()
        idf = None if self.output_mode != "tf_idf" else creation.as_tensor(self._idf[:depth])
        return encode_categorical(creation.as_tensor(lookups), self.output_mode, depth, idf=idf)

    def call(self, inputs):
        placeholder = None if self._string is False else _symbolic_placeholder(self, inputs)
        if placeholder is not None:
            return placeholder
        self.__dict__["built_called"] = True
        if self.invert:
            return self._invert(_as_ints(type(self).__name__, inputs))
        if self.output_mode != "int":
            self._depth()
        return self._encode(self._lookup(self._keys(inputs)))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    def get_config(self) -> dict:
        vocab = self.input_vocabulary
        if vocab is None and self._tokens:
            vocab = list(self._tokens)  # the adapted vocabulary travels in the config (no asset files)
        idf = self.input_idf_weights
        if idf is None and self._idf is not None and self.input_vocabulary is None:
            idf = self._idf[
                self._token_start_index() : self._token_start_index() + len(self._tokens)
            ].tolist()
        return {
            **super().get_config(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": vocab,
            "idf_weights": idf,
            "vocabulary_size": self._frozen_vocab_size,
            "oov_method": self.oov_method,
            "salt": self.salt,
        }


class StringLookup(_IndexLookup):
    """Maps strings to integer indices from a vocabulary (``[mask] + [OOV] + vocabulary``), or back with
    ``invert=True``; ``output_mode`` ``'one_hot'``, ``'multi_hot'``, ``'count'`` or ``'tf_idf'`` encodes them.

    Example:
        >>> layer = ts.keras.layers.StringLookup(vocabulary=["a", "b", "c"])
        >>> layer([["a", "c"], ["d", "b"]]).tolist()
        [[1, 3], [0, 2]]
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices: int = 1,
        mask_token=None,
        oov_token: str = "[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert: bool = False,
        output_mode: str = "int",
        pad_to_max_tokens: bool = False,
        sparse: bool = False,
        encoding: str = "utf-8",
        name: str | None = None,
        salt=None,
        **kwargs,
    ):
        kwargs.pop("vocabulary_dtype", None)
        kwargs.pop("oov_method", None)
        self.__dict__["encoding"] = encoding
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            name=name,
            salt=salt,
            **kwargs,
        )

    def _keys(self, x) -> np.ndarray:
        return _as_strings(type(self).__name__, x)

    def _invert_array(self, values, shape):
        # Keras returns the tokens as an object array of bytes (TensorFlow strings)
        encoded = [v.encode(self.encoding) if isinstance(v, str) else v for v in values]
        return np.array(encoded, dtype=object).reshape(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "encoding": self.encoding, "vocabulary_dtype": "string"}


class IntegerLookup(_IndexLookup):
    """Maps integers to contiguous indices from a vocabulary (``[mask] + [OOV] + vocabulary``), or back with
    ``invert=True``; the OOV token defaults to -1 and extra OOV indices take ``value % num_oov_indices``.

    Example:
        >>> layer = ts.keras.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer([[12, 1138, 42], [42, 1000, 36]]).tolist()
        [[1, 3, 4], [4, 0, 2]]
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices: int = 1,
        mask_token=None,
        oov_token: int = -1,
        vocabulary=None,
        vocabulary_dtype: str = "int64",
        idf_weights=None,
        invert: bool = False,
        output_mode: str = "int",
        sparse: bool = False,
        pad_to_max_tokens: bool = False,
        oov_method: str = "floormod",
        salt=None,
        name: str | None = None,
        **kwargs,
    ):
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(
                f"IntegerLookup: `vocabulary_dtype` must be 'int64' or 'int32', got {vocabulary_dtype!r}"
            )
        for arg, v in (("mask_token", mask_token), ("oov_token", oov_token)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
                raise TypeError(f"IntegerLookup: `{arg}` must be an int or None, got {v!r}")
        self.__dict__["vocabulary_dtype"] = vocabulary_dtype
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=None if mask_token is None else int(mask_token),
            oov_token=None if oov_token is None else int(oov_token),
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            name=name,
            oov_method=oov_method,
            salt=salt,
            **kwargs,
        )

    _string = False

    def _keys(self, x) -> np.ndarray:
        return _as_ints(type(self).__name__, x)

    def _oov_bucket(self, key) -> int:
        if self.oov_method == "farmhash":  # hashes the decimal string, as Keras
            return _fingerprint(str(int(key)), self.salt) % self.num_oov_indices
        return int(key) % self.num_oov_indices

    def _invert_array(self, values, shape):
        return creation.as_tensor(np.array(values, dtype=np.int64).reshape(shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype}


def _ngrams(tokens: list, widths) -> list:
    out = []
    for n in widths:
        out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return out


class TextVectorization(Layer):
    """Turns strings into token indices (``output_mode='int'``) or bag-of-words vectors (``'multi_hot'``,
    ``'count'``, ``'tf_idf'``): ``standardize`` (lower-casing, punctuation stripping or a callable on a NumPy
    string array), ``split`` (whitespace, characters, None or a callable), ``ngrams``, then a lookup in a
    vocabulary learned with ``adapt`` (index 0 is padding ``''``, 1 is ``'[UNK]'``). As with Keras's non-TensorFlow
    backends, a callable ``standardize`` receives a NumPy array of ``str``; a callable ``split`` is called on
    each standardized string and returns its tokens (Keras hands it a TensorFlow string tensor instead).

    Example:
        >>> layer = ts.keras.layers.TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["the cat sat", "the dog"])
        >>> layer(["The dog sat!"]).tolist()
        [[2, 4, 3, 0]]
    """

    _autocast = False

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode: str = "int",
        output_sequence_length=None,
        pad_to_max_tokens: bool = False,
        vocabulary=None,
        idf_weights=None,
        sparse: bool = False,
        ragged: bool = False,
        encoding: str = "utf-8",
        name: str | None = None,
        **kwargs,
    ):
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        check_choice("TextVectorization", "output_mode", output_mode, ("int", "multi_hot", "count", "tf_idf"))
        if not (standardize is None or callable(standardize)):
            check_choice(
                "TextVectorization", "standardize", standardize,
                ("lower_and_strip_punctuation", "lower", "strip_punctuation"),
            )  # fmt: skip
        if not (split is None or callable(split)):
            check_choice("TextVectorization", "split", split, ("whitespace", "character"))
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (
            ngrams is None
            or (isinstance(ngrams, int) and not isinstance(ngrams, bool))
            or (isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams))
        ):
            raise ValueError(
                "TextVectorization: `ngrams` must be None, an integer, or a tuple of integers. "
                f"Received: ngrams={ngrams}"
            )
        output_sequence_length = check_int(
            "TextVectorization", "output_sequence_length", output_sequence_length, minimum=1, allow_none=True
        )
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(
                "TextVectorization: `output_sequence_length` must not be set if `output_mode` is not 'int'. "
                f"Received output_sequence_length={output_sequence_length}."
            )
        if ragged:
            raise ValueError(
                "TextVectorization: ragged outputs are not supported (Tessera has dense tensors only)"
            )
        if sparse:
            raise ValueError(
                "TextVectorization: sparse outputs are not supported (Tessera has dense tensors only)"
            )
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self._standardize, self._split = standardize, split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode, self._output_sequence_length = output_mode, output_sequence_length
        self._ragged, self._encoding = False, encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens,
            mask_token="",
            output_mode=output_mode,
            has_input_vocabulary=has_input_vocabulary,
            vocabulary_size=vocabulary_size,
            name=f"{self.name}_lookup",
        )
        self.built = True

    def _convert(self, x, dtype):
        return x

    # -- tokenization ---------------------------------------------------------------------------------------
    def _standardized(self, inputs) -> np.ndarray:
        strings = _as_strings("TextVectorization", inputs)
        std = self._standardize
        if callable(std):
            result = std(strings.astype(str) if strings.size else strings)
            return _as_strings("TextVectorization", result)
        flat = strings.reshape(-1)
        for i, s in enumerate(flat):
            if std in ("lower", "lower_and_strip_punctuation"):
                s = s.translate(_ASCII_LOWER)  # tf.strings.lower is ASCII-only
            if std in ("strip_punctuation", "lower_and_strip_punctuation"):
                s = _PUNCTUATION.sub("", s)
            flat[i] = s
        return strings

    def _preprocess(self, inputs):
        """Standardized strings, split into one token list per sample when ``split`` is set."""
        strings = self._standardized(inputs)
        if self._split is None:
            if self._ngrams is not None:
                raise ValueError("TextVectorization: `ngrams` need `split` to be set")
            return strings
        if strings.ndim > 1:
            if strings.shape[-1] != 1:
                raise ValueError(
                    "TextVectorization: when tokenizing strings, the input rank must be 1 or the last shape "
                    f"dimension must be 1. Received: inputs.shape={strings.shape} with rank={strings.ndim}"
                )
            strings = strings.reshape(strings.shape[:-1])
        if strings.ndim > 1:
            raise ValueError(
                f"TextVectorization: expected a batch of strings, got inputs of shape {strings.shape}"
            )
        docs = []
        for s in strings.reshape(-1).tolist():
            if self._split == "whitespace":
                tokens = s.split()
            elif self._split == "character":
                tokens = list(s)
            else:
                tokens = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in self._split(s)]
            if self._ngrams is not None:
                tokens = _ngrams(tokens, self._ngrams)
            docs.append(tokens)
        return docs if strings.ndim else docs[0]

    # -- vocabulary -----------------------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn the vocabulary from strings (an array, list or iterable of batches).

        Example:
            >>> layer = ts.keras.layers.TextVectorization()
            >>> layer.adapt(["a b b"])
            >>> layer.get_vocabulary()
            ['', '[UNK]', 'b', 'a']
        """
        lookup = self._lookup_layer
        if lookup._has_input_vocabulary:
            raise ValueError(
                f"TextVectorization: cannot adapt layer '{self.name}' after setting a static vocabulary via "
                "`vocabulary` argument or `set_vocabulary()` method."
            )
        self.reset_state()
        for batch in iter_batches("TextVectorization", data, batch_size, steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data) -> None:
        docs = self._preprocess(data)
        if isinstance(docs, np.ndarray):
            docs = [list(row.reshape(-1)) for row in (docs.reshape(-1, 1) if docs.ndim <= 1 else docs)]
        elif docs and not isinstance(docs[0], list):
            docs = [docs]
        self._lookup_layer._update_counts(docs)

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary by index: ``''`` (padding), ``'[UNK]'``, then the learned tokens."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        """The vocabulary size, including the padding and OOV indices."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Replace the vocabulary (and ``idf_weights`` in ``tf_idf`` mode)."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # -- call -----------------------------------------------------------------------------------------------
    def call(self, inputs):
        placeholder = _symbolic_placeholder(self, inputs)
        if placeholder is not None:
            return placeholder
        docs = self._preprocess(inputs)
        lookup = self._lookup_layer
        lookup.__dict__["built_called"] = True
        if isinstance(docs, np.ndarray):
            if self._output_mode != "int" and docs.ndim <= 1:
                docs = docs.reshape(-1, 1)
            lookups = lookup._lookup(docs)
            if self._output_mode == "int" and self._output_sequence_length is not None and lookups.ndim:
                lookups = self._fit_length(lookups, self._output_sequence_length)
            return lookup._encode(lookups)
        single = bool(docs) and not isinstance(docs[0], list) or not docs
        if single:
            docs = [docs]
        rows = [lookup._lookup(np.array(d, dtype=object)) if d else np.zeros(0, np.int64) for d in docs]
        if self._output_mode == "int":
            length = self._output_sequence_length
            if length is None:
                length = max((len(r) for r in rows), default=0)
            lookups = np.stack([self._fit_length(r, length) for r in rows]) if rows else np.zeros((0, length))
            out = creation.as_tensor(lookups.astype(np.int64))
            return out[0] if single else out
        depth = lookup._depth()
        idf = None if self._output_mode != "tf_idf" else creation.as_tensor(lookup._idf[:depth])
        # ragged rows: each row's encoding separately, stacked (padding would count as index 0)
        encoded = [encode_categorical(creation.as_tensor(r), self._output_mode, depth, idf=idf) for r in rows]
        from ....ops import stack

        out = stack(encoded) if encoded else creation.zeros((0, depth))
        return out[0] if single else out

    @staticmethod
    def _fit_length(lookups: np.ndarray, length: int) -> np.ndarray:
        lookups = lookups[..., :length]
        pad = length - lookups.shape[-1]
        if pad > 0:
            lookups = np.pad(lookups, [(0, 0)] * (lookups.ndim - 1) + [(0, pad)])
        return lookups

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        if self._split is None:
            if len(input_shape) <= 1:
                input_shape = tuple(input_shape) + (1,)
        else:
            input_shape = tuple(input_shape) + (None,)
        return self._lookup_layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        lookup = self._lookup_layer
        lcfg = lookup.get_config()
        return {
            **super().get_config(),
            "max_tokens": lookup.max_tokens,
            "standardize": self._standardize,
            "split": self._split,
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            "vocabulary": lcfg["vocabulary"],
            "idf_weights": lcfg["idf_weights"],
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)


class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` bins (bin 0 reserved for ``mask_value`` when given);
    integers are hashed through their decimal string, as in Keras (FarmHash Fingerprint64; SipHash-2-4 with
    ``salt``).

    Example:
        >>> layer = ts.keras.layers.Hashing(num_bins=3, mask_value="")
        >>> layer([["", "a"]]).shape, layer([[""]]).tolist()
        (tessera.Size([1, 2]), [[0]])
    """

    _autocast = False

    def __init__(
        self,
        num_bins: int,
        mask_value=None,
        salt=None,
        output_mode: str = "int",
        sparse: bool = False,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.num_bins = check_int("Hashing", "num_bins", num_bins, minimum=1)
        self.mask_value = mask_value
        self.salt = _salt_pair("Hashing", salt)
        self.output_mode = check_choice(
            "Hashing", "output_mode", output_mode, ("int", "one_hot", "multi_hot", "count")
        )
        if sparse:
            raise ValueError("Hashing: sparse outputs are not supported (Tessera has dense tensors only)")
        self.sparse = False
        self.built = True

    def _convert(self, x, dtype):
        return x

    def _hash(self, values: np.ndarray) -> np.ndarray:
        flat = values.reshape(-1).tolist()
        masked = (
            self.mask_value is not None and self.num_bins > 1
        )  # as Keras: one bin leaves no room for a mask
        bins = self.num_bins - (1 if masked else 0)
        out = np.empty(len(flat), dtype=np.int64)
        for i, v in enumerate(flat):
            if masked and v == self.mask_value:
                out[i] = 0
                continue
            if isinstance(v, float):
                v = int(v)  # Keras casts floats to int64 before hashing their decimal string
            key = v.decode("utf-8") if isinstance(v, bytes) else str(v)
            out[i] = _fingerprint(key, self.salt) % bins + (1 if masked else 0)
        return out.reshape(values.shape)

    def call(self, inputs):
        placeholder = _symbolic_placeholder(self, inputs)
        if placeholder is not None:
            return placeholder
        arr = to_host(inputs) if not isinstance(inputs, (list, tuple, str)) else np.asarray(inputs)
        if arr.dtype.kind not in "iubfUSO":
            raise TypeError(f"Hashing: expected string or numeric inputs, got an array of dtype {arr.dtype}")
        if arr.dtype.kind in "iub":
            arr = arr.astype(np.int64)
        hashed = self._hash(arr)
        if self.output_mode == "int":
            return creation.as_tensor(hashed)
        return encode_categorical(creation.as_tensor(hashed), self.output_mode, self.num_bins)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        if self.output_mode == "one_hot" and (len(input_shape) <= 1 or input_shape[-1] != 1):
            return input_shape + (self.num_bins,)
        return input_shape[:-1] + (self.num_bins,)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_bins": self.num_bins,
            "salt": self.salt,
            "mask_value": self.mask_value,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }


class HashedCrossing(Layer):
    """Crosses two categorical features (strings or ints) by hashing each pair into ``num_bins`` bins
    (``'int'`` indices or ``'one_hot'`` vectors), with Keras's ``tf.sparse.cross_hashed`` bins.

    Example:
        >>> layer = ts.keras.layers.HashedCrossing(num_bins=5)
        >>> layer((np.array([1, 2]), np.array(["a", "b"]))).shape
        tessera.Size([2])
    """

    _autocast = False

    def __init__(
        self, num_bins: int, output_mode: str = "int", sparse: bool = False, name=None, dtype=None, **kwargs
    ):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_bins = check_int("HashedCrossing", "num_bins", num_bins, minimum=1)
        self.output_mode = check_choice("HashedCrossing", "output_mode", output_mode, ("int", "one_hot"))
        if sparse:
            raise ValueError(
                "HashedCrossing: sparse outputs are not supported (Tessera has dense tensors only)"
            )
        self.sparse = False
        self.built = True

    def _convert(self, x, dtype):
        return x

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                f"HashedCrossing: expects a tuple or list of 2 inputs, got {type(inputs).__name__} "
                f"of length {len(inputs) if hasattr(inputs, '__len__') else 'n/a'}"
            )
        a, b = (to_host(x) if not isinstance(x, (list, tuple, str)) else np.asarray(x) for x in inputs)
        if a.shape != b.shape:
            raise ValueError(
                f"HashedCrossing: both inputs must have the same shape, got {a.shape} and {b.shape}"
            )
        out = np.empty(a.size, dtype=np.int64)
        for i, pair in enumerate(zip(a.reshape(-1).tolist(), b.reshape(-1).tolist())):
            h = CROSS_HASH_KEY
            for v in pair:  # tf.sparse.cross_hashed: strings by fingerprint, ints by value
                if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                    feature = int(v) & _UINT64
                else:
                    feature = fingerprint64(v if isinstance(v, bytes) else str(v).encode("utf-8"))
                h = fingerprint_cat64(h, feature)
            out[i] = h % self.num_bins
        hashed = creation.as_tensor(out.reshape(a.shape))
        if self.output_mode == "int":
            return hashed
        return encode_categorical(hashed, "one_hot", self.num_bins)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_bins": self.num_bins,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }
