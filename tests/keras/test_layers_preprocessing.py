"""Keras preprocessing layers: deterministic layers against real Keras 3 (torch backend) where it runs them
without TensorFlow, hand-computed expectations for the vocabulary layers (Keras needs TensorFlow for those),
and properties (shape, reproducibility, identity at inference, value ranges) for the random layers."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.keras import layers as L
from tessera.keras.layers.preprocessing.image import affine_sample

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 1, (2, 7, 9, 3)).astype("float32")


def np_(x):
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x)


def theirs(keras, x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def roundtrip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    return clone


# -- StringLookup / IntegerLookup ----------------------------------------------------------------------------
VOCAB = ["a", "b", "c", "d"]
LOOKUP_CASES = [
    # (kwargs, inputs, expected)
    ({}, [["a", "c", "d"], ["d", "z", "b"]], [[1, 3, 4], [4, 0, 2]]),
    ({"mask_token": ""}, [["a", ""], ["z", "d"]], [[2, 0], [1, 5]]),
    ({"num_oov_indices": 0}, [["a", "d"]], [[0, 3]]),
    ({"output_mode": "one_hot"}, ["a", "z"], [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]),
    (
        {"output_mode": "multi_hot"},
        [["a", "c", "d", "d"], ["d", "z", "b", "z"]],
        [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]],
    ),
    (
        {"output_mode": "count"},
        [["a", "c", "d", "d"], ["d", "z", "b", "z"]],
        [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]],
    ),
    ({"output_mode": "count", "mask_token": ""}, [["a", "", "a"]], [[0, 2, 0, 0, 0]]),
    (
        {"output_mode": "multi_hot", "pad_to_max_tokens": True, "max_tokens": 7},
        [["b"]],
        [[0, 0, 1, 0, 0, 0, 0]],
    ),
]


@pytest.mark.parametrize("kwargs,inputs,expected", LOOKUP_CASES)
def test_string_lookup_table(kwargs, inputs, expected):
    layer = L.StringLookup(vocabulary=VOCAB, **kwargs)
    out = layer(inputs)
    np.testing.assert_array_equal(np_(out), np.array(expected))
    assert out.dtype == (ts.int64 if layer.output_mode == "int" else ts.float32)
    clone = roundtrip(layer)
    np.testing.assert_array_equal(np_(clone(inputs)), np.array(expected))


def test_string_lookup_vocabulary_and_adapt_order():
    layer = L.StringLookup(mask_token="[MASK]", num_oov_indices=2)
    # counts: b=3, c=2 and a=2 (tie broken by the larger token first, as Keras's lexsort(...)[::-1])
    layer.adapt(np.array([["b", "a", "c"], ["b", "c", "a"], ["b", "[MASK]", "z"]]))
    assert layer.get_vocabulary() == ["[MASK]", "[UNK]", "[UNK]", "b", "c", "a", "z"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["b", "c", "a", "z"]
    assert layer.vocabulary_size() == 7
    out = np_(layer(["b", "[MASK]", "q", "q", "a"]))
    assert out[0] == 3 and out[1] == 0 and out[4] == 5
    assert out[2] == out[3] and out[2] in (1, 2)  # hashed OOV buckets: deterministic, in the OOV range


def test_string_lookup_adapt_max_tokens_batches_and_generators():
    data = ["x", "y", "y", "z", "z", "z"]
    a = L.StringLookup(max_tokens=3)
    a.adapt(data, batch_size=2)
    assert a.get_vocabulary() == ["[UNK]", "z", "y"]
    b = L.StringLookup(max_tokens=3)
    b.adapt(iter([np.array(data[:3]), np.array(data[3:])]))
    assert b.get_vocabulary() == a.get_vocabulary()
    c = L.StringLookup()
    c.adapt(iter([np.array(data[:3]), np.array(data[3:])]), steps=1)
    assert c.get_vocabulary() == ["[UNK]", "y", "x"]


def test_string_lookup_invert_and_bytes():
    layer = L.StringLookup(vocabulary=VOCAB, invert=True)
    np.testing.assert_array_equal(
        layer([[1, 3], [0, 9]]), np.array([[b"a", b"c"], [b"[UNK]", b"[UNK]"]], dtype=object)
    )
    fwd = L.StringLookup(vocabulary=VOCAB)
    np.testing.assert_array_equal(np_(fwd(np.array([b"a", b"d"]))), [1, 4])


def test_string_lookup_tf_idf():
    layer = L.StringLookup(output_mode="tf_idf")
    docs = [["a", "b"], ["a", "a"], ["c", "a"]]
    layer.adapt(docs)
    vocab = layer.get_vocabulary()
    assert vocab == ["[UNK]", "a", "c", "b"]
    idf = np.log(1 + 3 / (1 + np.array([3.0, 1.0, 1.0])))  # document frequencies a=3, c=1, b=1
    idf = np.concatenate([[idf.mean()], idf])
    out = np_(layer([["a", "a", "z"]]))
    np.testing.assert_allclose(out, [[1 * idf[0], 2 * idf[1], 0, 0]], rtol=1e-6)
    given = L.StringLookup(vocabulary=["a", "c", "b"], idf_weights=list(idf[1:]), output_mode="tf_idf")
    np.testing.assert_allclose(np_(given([["a", "a", "z"]])), out, rtol=1e-6)


def test_integer_lookup():
    layer = L.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    np.testing.assert_array_equal(np_(layer([[12, 1138, 42], [42, 1000, 36]])), [[1, 3, 4], [4, 0, 2]])
    multi = L.IntegerLookup(vocabulary=[12, 36], num_oov_indices=3)
    np.testing.assert_array_equal(np_(multi(np.array([12, 7, 8, 9]))), [3, 7 % 3, 8 % 3, 9 % 3])  # floormod
    inv = L.IntegerLookup(vocabulary=[12, 36], invert=True, mask_token=0)
    np.testing.assert_array_equal(np_(inv([0, 1, 2, 3, 5])), [0, -1, 12, 36, -1])
    adapted = L.IntegerLookup()
    adapted.adapt(np.array([[5, 5, 7], [7, 7, 1]]))
    assert adapted.get_vocabulary() == [-1, 7, 5, 1]
    np.testing.assert_array_equal(np_(roundtrip(adapted)(np.array([1, 7, 9]))), [3, 1, 0])
    # inside a functional model and on int tensors
    inputs = ts.keras.Input((3,), dtype="int64")
    model = ts.keras.Model(inputs, L.IntegerLookup(vocabulary=[5, 6], output_mode="multi_hot")(inputs))
    np.testing.assert_array_equal(np_(model(ts.tensor([[5, 9, 5]]))), [[1, 1, 0]])


LOOKUP_ERRORS = [
    (lambda: L.StringLookup(max_tokens=1), ValueError, "max_tokens"),
    (lambda: L.StringLookup(pad_to_max_tokens=True), ValueError, "max_tokens"),
    (lambda: L.StringLookup(num_oov_indices=-1), ValueError, "num_oov_indices"),
    (lambda: L.StringLookup(output_mode="bag"), ValueError, "output_mode"),
    (lambda: L.StringLookup(invert=True, output_mode="count"), ValueError, "invert"),
    (lambda: L.StringLookup(vocabulary=["a", "a"]), ValueError, "repeated"),
    (lambda: L.StringLookup(vocabulary=["a", "b"], max_tokens=2), ValueError, "max_tokens"),
    (lambda: L.StringLookup(vocabulary=[]), ValueError, "empty"),
    (lambda: L.StringLookup(vocabulary=["a", ""], mask_token=""), ValueError, "mask_token"),
    (lambda: L.StringLookup(output_mode="tf_idf", vocabulary=["a"]), ValueError, "idf_weights"),
    (lambda: L.StringLookup(idf_weights=[1.0]), ValueError, "idf_weights"),
    (lambda: L.StringLookup(vocabulary=["a"], num_oov_indices=0)(["b"]), ValueError, "num_oov_indices=0"),
    (lambda: L.StringLookup(output_mode="multi_hot")(["a"]), RuntimeError, "vocabulary"),
    (lambda: L.StringLookup(vocabulary=["a"]).adapt(["a"]), ValueError, "cannot adapt"),
    (lambda: L.StringLookup(vocabulary=["a"])(np.array([1.5])), TypeError, "StringLookup"),
    (lambda: L.IntegerLookup(vocabulary=[1])(np.array([1.5])), TypeError, "IntegerLookup"),
    (lambda: L.IntegerLookup(mask_token="x"), TypeError, "mask_token"),
    (lambda: L.IntegerLookup(vocabulary_dtype="float32"), ValueError, "vocabulary_dtype"),
]


@pytest.mark.parametrize("make,exc,match", LOOKUP_ERRORS)
def test_lookup_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


# -- TextVectorization ---------------------------------------------------------------------------------------
CORPUS = ["The cat sat.", "The dog sat!", "A cat, a dog?"]


def test_text_vectorization_int():
    layer = L.TextVectorization()
    layer.adapt(CORPUS)
    # counts: a=2, cat=2, dog=2, sat=2, the=2 -> all tied, larger token first
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "sat", "dog", "cat", "a"]
    np.testing.assert_array_equal(np_(layer(["the dog", "a bird sat here"])), [[2, 4, 0, 0], [6, 1, 3, 1]])
    fixed = L.TextVectorization(vocabulary=["the", "cat"], output_sequence_length=3)
    np.testing.assert_array_equal(np_(fixed(["cat the cat the", "cat"])), [[3, 2, 3], [3, 0, 0]])
    assert fixed.compute_output_shape((None,)) == (None, 3)
    np.testing.assert_array_equal(np_(roundtrip(layer)(["the dog"])), [[2, 4]])


@pytest.mark.parametrize(
    "standardize,split,text,tokens",
    [
        ("lower_and_strip_punctuation", "whitespace", "Hi, There!", ["hi", "there"]),
        ("lower", "whitespace", "Hi, There!", ["hi,", "there!"]),
        ("strip_punctuation", "whitespace", "Hi, There!", ["Hi", "There"]),
        (None, "whitespace", "Hi,  There!", ["Hi,", "There!"]),
        (None, "character", "abc", ["a", "b", "c"]),
        (lambda x: np.char.upper(x), "whitespace", "hi there", ["HI", "THERE"]),
        (None, lambda s: s.split("-"), "x-y", ["x", "y"]),
    ],
)
def test_text_vectorization_standardize_split(standardize, split, text, tokens):
    layer = L.TextVectorization(standardize=standardize, split=split)
    layer.adapt([text])
    assert sorted(layer.get_vocabulary(include_special_tokens=False)) == sorted(tokens)
    np.testing.assert_array_equal(np_(layer([text]))[0] > 1, True)


def test_text_vectorization_ngrams_and_modes():
    layer = L.TextVectorization(ngrams=2, output_mode="count")
    layer.adapt(["a b a b"])
    vocab = layer.get_vocabulary()
    assert vocab[0] == "[UNK]" and set(vocab[1:]) == {"a", "b", "a b", "b a"}
    out = np_(layer(["a b c"]))
    expected = np.zeros(len(vocab))
    for tok in ["a", "b", "a b"]:
        expected[vocab.index(tok)] += 1
    expected[0] = 2  # the unknown "c" and "b c"
    np.testing.assert_array_equal(out, [expected])
    bi = L.TextVectorization(ngrams=(2,), vocabulary=["a b"], output_mode="multi_hot")
    np.testing.assert_array_equal(np_(bi(["a b a b", "b"])), [[1, 1], [0, 0]])
    tfidf = L.TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[0.5, 2.0])
    np.testing.assert_allclose(np_(tfidf(["a a b z"])), [[1.25, 1.0, 2.0]])
    padded = L.TextVectorization(output_mode="multi_hot", max_tokens=6, pad_to_max_tokens=True)
    padded.adapt(CORPUS)
    assert np_(padded(["cat"])).shape == (1, 6)


def test_text_vectorization_in_models():
    vec = L.TextVectorization(output_sequence_length=4)
    vec.adapt(CORPUS)
    model = ts.keras.Sequential([vec, L.Embedding(vec.vocabulary_size(), 2)])
    assert tuple(model(np.array([["the cat"], ["dog"]])).shape) == (2, 4, 2)


TEXT_ERRORS = [
    (lambda: L.TextVectorization(output_mode="one_hot"), "output_mode"),
    (lambda: L.TextVectorization(standardize="upper"), "standardize"),
    (lambda: L.TextVectorization(split="comma"), "split"),
    (lambda: L.TextVectorization(ngrams="2"), "ngrams"),
    (lambda: L.TextVectorization(output_mode="count", output_sequence_length=3), "output_sequence_length"),
    (lambda: L.TextVectorization()(np.array([["a", "b"]])), "last shape dimension must be 1"),
]


@pytest.mark.parametrize("make,match", TEXT_ERRORS)
def test_text_vectorization_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# -- Hashing / HashedCrossing: Keras needs TensorFlow for them; its documented outputs are the reference ------
FIVE = [["A"], ["B"], ["C"], ["D"], ["E"]]
KERAS_HASH_EXAMPLES = [  # keras/src/layers/preprocessing/hashing.py docstring
    ({"num_bins": 3}, FIVE, [1, 0, 1, 1, 2]),
    ({"num_bins": 3, "mask_value": ""}, [["A"], ["B"], [""], ["C"], ["D"]], [1, 1, 0, 2, 2]),
    ({"num_bins": 3, "salt": [133, 137]}, FIVE, [1, 2, 1, 0, 2]),
    ({"num_bins": 3, "salt": 133}, FIVE, [0, 0, 2, 1, 0]),
]


@pytest.mark.parametrize("kwargs,inputs,expected", KERAS_HASH_EXAMPLES)
def test_hashing_matches_keras_examples(kwargs, inputs, expected):
    np.testing.assert_array_equal(np_(L.Hashing(**kwargs)(inputs)).reshape(-1), expected)


def test_hashed_crossing_matches_keras_examples():
    feat1, feat2 = np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])
    np.testing.assert_array_equal(np_(L.HashedCrossing(num_bins=5)((feat1, feat2))), [1, 4, 1, 1, 3])
    onehot = np_(L.HashedCrossing(num_bins=5, output_mode="one_hot")((feat1, feat2)))
    np.testing.assert_array_equal(onehot.argmax(-1), [1, 4, 1, 1, 3])


def test_hash_functions_reference_vectors():
    from tessera.keras.layers.preprocessing._hashing import fingerprint64, siphash24

    key = bytes(range(16))  # the SipHash paper's test key; the empty message and 15 bytes 00..0e
    k0, k1 = int.from_bytes(key[:8], "little"), int.from_bytes(key[8:], "little")
    assert siphash24(k0, k1, b"") == 0x726FDB47DD0E0E31
    assert siphash24(k0, k1, bytes(range(15))) == 0xA129CA6149BE45E5
    # FarmHash Fingerprint64 of bytes 00, 01, ... (reference values from the pyfarmhash bindings), one length
    # per branch of the algorithm
    reference = {
        0: 11160318154034397263,
        3: 10709908609026466970,
        7: 11736591675260184225,
        12: 11517357035142004093,
        16: 1080060857502750420,
        25: 13015339428515433534,
        32: 1917831512995979081,
        48: 17554329768031914595,
        64: 17691551913807367243,
        65: 14313328211205373374,
        128: 2037963038260878803,
        200: 525935771297148851,
    }
    for n, value in reference.items():
        assert fingerprint64(bytes(range(n))) == value


def test_hashing_properties():
    data = np.array([["a", "b", "c", "a"], ["", "zz", "a", "b"]])
    layer = L.Hashing(num_bins=5, salt=7)
    out = np_(layer(data))
    assert out.dtype == np.int64 and out.shape == (2, 4) and out.min() >= 0 and out.max() < 5
    assert out[0, 0] == out[0, 3] == out[1, 2]
    np.testing.assert_array_equal(np_(roundtrip(layer)(data)), out)
    masked = np_(L.Hashing(num_bins=5, mask_value="")(data))
    assert masked[1, 0] == 0 and (np.delete(masked.reshape(-1), 4) >= 1).all()
    ints = L.Hashing(num_bins=3)
    np.testing.assert_array_equal(np_(ints(np.array([1, 2, 1]))), np_(ints(np.array(["1", "2", "1"]))))
    spread = np_(L.Hashing(num_bins=4)(np.array([str(i) for i in range(4000)])))
    assert (np.bincount(spread, minlength=4) > 800).all()
    onehot = np_(L.Hashing(num_bins=3, output_mode="one_hot")(np.array(["a", "b"])))
    assert onehot.shape == (2, 3) and (onehot.sum(-1) == 1).all()
    with pytest.raises(ValueError, match="output_mode"):
        L.Hashing(num_bins=3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="salt"):
        L.Hashing(num_bins=3, salt="x")


def test_hashed_crossing_properties():
    layer = L.HashedCrossing(num_bins=7)
    out = np_(layer((np.array([1, 2, 1]), np.array(["a", "b", "a"]))))
    assert out.shape == (3,) and out[0] == out[2] and (0 <= out).all() and (out < 7).all()
    oh = np_(L.HashedCrossing(num_bins=7, output_mode="one_hot")((np.array([1]), np.array(["a"]))))
    assert oh.shape == (1, 7) and oh.sum() == 1
    with pytest.raises(ValueError, match="same shape"):
        layer((np.array([1, 2]), np.array(["a"])))
    with pytest.raises(ValueError, match="2 inputs"):
        layer(np.array([1, 2]))


# -- Normalization / Discretization / CategoryEncoding against Keras -----------------------------------------
NORM_CASES = [
    ({}, (6, 4)),
    ({"axis": None}, (6, 4)),
    ({"axis": (1, 2)}, (5, 3, 4)),
    ({"axis": 1}, (5, 3, 4)),
    ({"invert": True}, (6, 4)),
]


@pytest.mark.parametrize("kwargs,shape", NORM_CASES)
def test_normalization_adapt_matches_keras(real_keras, kwargs, shape):
    data = RNG.normal(3.0, 2.0, shape).astype("float32")
    x = RNG.normal(size=shape).astype("float32")
    ours, ref = L.Normalization(**kwargs), real_keras.layers.Normalization(**kwargs)
    ours.adapt(data)
    ref.adapt(data)
    np.testing.assert_allclose(np_(ours(x)), theirs(real_keras, ref(x)), rtol=1e-5, atol=1e-5)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    batched = L.Normalization(**kwargs)
    batched.adapt(iter([data[:2], data[2:]]))
    np.testing.assert_allclose(np_(batched(x)), np_(ours(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mean,variance", [(2.0, 4.0), ([1.0, 2.0, 3.0], [1.0, 4.0, 9.0])])
def test_normalization_given_stats_matches_keras(real_keras, mean, variance):
    x = RNG.normal(size=(4, 3)).astype("float32")
    ours = L.Normalization(mean=mean, variance=variance)
    ref = real_keras.layers.Normalization(mean=mean, variance=variance)
    np.testing.assert_allclose(np_(ours(x)), theirs(real_keras, ref(x)), rtol=1e-6)
    np.testing.assert_allclose(np_(roundtrip(ours)(x)), np_(ours(x)))


def test_normalization_gradient_and_model():
    layer = L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0])
    x = ts.tensor([[3.0, 5.0]], requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [[0.5, 1 / 3]], rtol=1e-6)
    inputs = ts.keras.Input((2,))
    adapt = L.Normalization()
    adapt.adapt(np.array([[0.0, 0.0], [2.0, 4.0]], "float32"))
    model = ts.keras.Model(inputs, L.Dense(1)(adapt(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 2), "float32"), np.ones((8, 1), "float32"), epochs=1, verbose=0)
    np.testing.assert_allclose(np_(adapt.mean).reshape(-1), [1.0, 2.0])


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        L.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        L.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError, match=r"\[-ndim, ndim\)"):
        L.Normalization(axis=3)(np.ones((2, 2), "float32"))
    layer = L.Normalization()
    layer.adapt(np.ones((3, 2), "float32"))
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.ones((3, 5), "float32"))


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_matches_keras(real_keras, mode):
    x = RNG.normal(size=(3, 5)).astype("float32")
    kwargs = {"bin_boundaries": [-1.0, 0.0, 0.5, 1.0], "output_mode": mode}
    inp = x[:, :1] if mode == "one_hot" else x
    out = L.Discretization(**kwargs)(inp)
    ref = theirs(real_keras, real_keras.layers.Discretization(**kwargs)(inp))
    np.testing.assert_array_equal(np_(out), ref)
    assert str(out.dtype).split(".")[-1] == str(ref.dtype)


def test_discretization_adapt_matches_keras_summary(real_keras):
    from keras.src.layers.preprocessing import discretization as kd

    data = [RNG.normal(size=300).astype("float32"), RNG.uniform(size=(40, 5)).astype("float32")]
    layer = L.Discretization(num_bins=5, epsilon=0.01)
    layer.adapt(iter(data))
    summary = np.array([[], []], dtype="float32")
    for batch in data:
        summary = kd.merge_summaries(kd.summarize(batch, 0.01), summary, 0.01)
    np.testing.assert_allclose(layer.bin_boundaries, kd.get_bin_boundaries(summary, 5), rtol=1e-6)
    clone = roundtrip(layer)
    assert clone.bin_boundaries == layer.bin_boundaries
    with pytest.raises(ValueError, match="either `num_bins` or `bin_boundaries`"):
        L.Discretization()
    with pytest.raises(ValueError, match="use `num_bins`"):
        L.Discretization(bin_boundaries=[0.0]).adapt(np.ones(3))


@pytest.mark.parametrize(
    "mode,inputs",
    [
        ("multi_hot", [[0, 1], [3, 3]]),
        ("one_hot", [3, 2, 0, 1]),
        ("one_hot", [[3], [1]]),
        ("count", [[0, 1, 1], [2, 3, 3]]),
        ("multi_hot", [1, 3]),
        ("count", [[[0, 1], [2, 2]]]),
    ],
)
def test_category_encoding_matches_keras(real_keras, mode, inputs):
    x = np.array(inputs)
    out = L.CategoryEncoding(num_tokens=4, output_mode=mode)(x)
    ref = theirs(real_keras, real_keras.layers.CategoryEncoding(num_tokens=4, output_mode=mode)(x))
    np.testing.assert_array_equal(np_(out), ref)


def test_category_encoding_count_weights_and_errors(real_keras):
    x, w = np.array([[0, 1, 1]]), np.array([[0.5, 0.25, 2.0]], "float32")
    out = L.CategoryEncoding(num_tokens=3, output_mode="count")(x, count_weights=w)
    ref = real_keras.layers.CategoryEncoding(num_tokens=3, output_mode="count")(x, count_weights=w)
    np.testing.assert_allclose(np_(out), theirs(real_keras, ref))
    with pytest.raises(ValueError, match="num_tokens"):
        L.CategoryEncoding()
    with pytest.raises(ValueError, match="range"):
        L.CategoryEncoding(num_tokens=3)(np.array([[3]]))
    with pytest.raises(ValueError, match="count_weights"):
        L.CategoryEncoding(num_tokens=3)(x, count_weights=w)


# -- image layers against Keras ------------------------------------------------------------------------------
DETERMINISTIC_IMAGE_CASES = (
    [
        ("Rescaling", (1 / 255.0, 0.5), {}),
        ("Rescaling", ([1.0, 2.0, 3.0], [0.0, 1.0, -1.0]), {}),
        ("CenterCrop", (4, 5), {}),
        ("CenterCrop", (8, 12), {}),
        ("Resizing", (11, 13), {}),
    ]
    + [
        ("Resizing", size, {"interpolation": interp, **extra})
        for interp in ("bilinear", "nearest", "bicubic")
        for size in ((4, 5), (8, 4))
        for extra in ({}, {"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True, "fill_value": 0.5})
    ]
    + [
        ("Resizing", size, {"interpolation": interp, "antialias": True})
        for interp in ("bilinear", "bicubic")
        for size in ((3, 4), (11, 13))
    ]
)


@pytest.mark.parametrize("name,args,kwargs", DETERMINISTIC_IMAGE_CASES)
def test_deterministic_image_layers_match_keras(real_keras, name, args, kwargs):
    ours = getattr(L, name)(*args, **kwargs)
    ref = getattr(real_keras.layers, name)(*args, **kwargs)
    for x in (IMAGES, IMAGES[0]):
        np.testing.assert_allclose(np_(ours(x)), theirs(real_keras, ref(x)), rtol=1e-5, atol=1e-5)
    roundtrip(ours)


def test_channels_first_and_uint8(real_keras):
    x = np.transpose(IMAGES, (0, 3, 1, 2))
    ours = L.Resizing(4, 5, data_format="channels_first")
    ref = real_keras.layers.Resizing(4, 5, data_format="channels_first")
    np.testing.assert_allclose(np_(ours(x)), theirs(real_keras, ref(x)), rtol=1e-5, atol=1e-5)
    u8 = (IMAGES * 255).astype("uint8")
    np.testing.assert_allclose(
        np_(L.Rescaling(1 / 255.0)(u8)), theirs(real_keras, real_keras.layers.Rescaling(1 / 255.0)(u8))
    )
    np.testing.assert_allclose(
        np_(L.CenterCrop(3, 3)(u8)), theirs(real_keras, real_keras.layers.CenterCrop(3, 3)(u8))
    )


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_affine_sampling_matches_keras(real_keras, interpolation, fill_mode):
    t = np.array([[0.9, 0.2, 1.3, -0.1, 1.1, -0.7, 0, 0], [1.2, -0.3, -2.5, 0.25, 0.8, 1.9, 0, 0]], "float32")
    out = affine_sample(ts.tensor(IMAGES), t, interpolation, fill_mode, 0.3)
    ref = real_keras.ops.image.affine_transform(
        IMAGES, t, interpolation=interpolation, fill_mode=fill_mode, fill_value=0.3
    )
    np.testing.assert_allclose(np_(out), theirs(real_keras, ref), rtol=1e-5, atol=1e-5)


def test_resizing_is_differentiable():
    x = ts.tensor(IMAGES, requires_grad=True)
    L.Resizing(3, 4)(x).sum().backward()
    assert x.grad is not None and tuple(x.grad.shape) == IMAGES.shape
    y = ts.tensor(IMAGES, requires_grad=True)
    L.RandomRotation(0.2, seed=1)(y).sum().backward()
    assert y.grad is not None and float(np_(y.grad).sum()) > 0


# -- random image layers: properties -------------------------------------------------------------------------
RANDOM_LAYERS = [
    ("RandomFlip", (), {}),
    ("RandomFlip", ("vertical",), {}),
    ("RandomRotation", (0.2,), {}),
    ("RandomRotation", ((-0.3, 0.1),), {"fill_mode": "constant", "interpolation": "nearest"}),
    ("RandomZoom", (0.3,), {}),
    ("RandomZoom", ((-0.3, -0.1), (0.1, 0.2)), {"fill_mode": "wrap"}),
    ("RandomTranslation", (0.2, 0.3), {}),
    ("RandomContrast", (0.5,), {"value_range": (0, 1)}),
    ("RandomBrightness", (0.3,), {"value_range": (0, 1)}),
    ("RandomCrop", (4, 5), {}),
]


@pytest.mark.parametrize("name,args,kwargs", RANDOM_LAYERS)
def test_random_layers_properties(name, args, kwargs):
    cls = getattr(L, name)
    x = np.repeat(IMAGES, 4, axis=0)
    a, b = cls(*args, seed=5, **kwargs), cls(*args, seed=5, **kwargs)
    out_a = np_(a(x, training=True))
    np.testing.assert_array_equal(out_a, np_(b(x, training=True)))  # reproducible with a seed
    np.testing.assert_array_equal(np_(a(x, training=False)), x)  # identity at inference
    assert out_a.dtype == np.float32
    if name == "RandomCrop":
        assert out_a.shape == (8, 4, 5, 3)
    else:
        assert out_a.shape == x.shape
        assert not np.allclose(out_a, x)
    if "value_range" in kwargs:
        assert out_a.min() >= 0 and out_a.max() <= 1
    assert np_(a(IMAGES[0], training=True)).ndim == 3
    roundtrip(a)
    # inactive in predict (inference), active in a model call in training mode
    model = ts.keras.Sequential([ts.keras.Input(IMAGES.shape[1:]), cls(*args, seed=5, **kwargs)])
    np.testing.assert_array_equal(np_(model.predict(IMAGES, verbose=0)), IMAGES)


def test_random_flip_flips():
    x = np.arange(8.0, dtype="float32").reshape(1, 2, 4, 1).repeat(16, axis=0)
    out = np_(L.RandomFlip("horizontal", seed=0)(x, training=True))
    flipped = (out == x[:, :, ::-1]).all(axis=(1, 2, 3))
    same = (out == x).all(axis=(1, 2, 3))
    assert (flipped | same).all() and flipped.any() and same.any()


IMAGE_ERRORS = [
    (lambda: L.RandomFlip("diagonal"), "mode"),
    (lambda: L.RandomRotation(2.0), "factor"),
    (lambda: L.RandomRotation(0.1, fill_mode="smear"), "fill_mode"),
    (lambda: L.RandomZoom(0.1, interpolation="bicubic"), "interpolation"),
    (lambda: L.RandomContrast(1.5), "factor"),
    (lambda: L.RandomBrightness(0.1, value_range=(1, 0)), "value_range"),
    (lambda: L.Resizing(0, 3), "height"),
    (lambda: L.Resizing(2, 3, interpolation="lanczos9"), "interpolation"),
    (lambda: L.Resizing(2, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Only one|only one"),
    (lambda: L.CenterCrop(2, 2)(np.ones((4, 4), "float32")), "rank 3"),
    (lambda: L.RandomFlip(data_format="nhwc"), "data_format"),
]


@pytest.mark.parametrize("make,match", IMAGE_ERRORS)
def test_image_layer_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# -- color layers ----------------------------------------------------------------------------------------------
# (name, args, kwargs, inputs in [0, 1]?): factors whose random draw is a constant make Keras deterministic
COLOR_CASES = [
    ("AutoContrast", (), {}, False),
    ("AutoContrast", (), {"value_range": (0, 1)}, True),
    ("Equalization", (), {}, False),
    ("Equalization", (), {"bins": 32, "value_range": (0, 1)}, True),
    ("RandomSharpness", ((0.2, 0.2),), {}, False),
    ("RandomSharpness", ((0.9, 0.9),), {"value_range": (0, 1)}, True),
    ("RandomSaturation", ((0.3, 0.3),), {"value_range": (0, 1)}, True),
    ("RandomColorDegeneration", ((0.3, 0.3),), {}, False),
    ("RandomPosterization", ((3, 3),), {}, False),
    ("RandomGrayscale", (1.0,), {}, False),
    ("RandomInvert", ((1.0, 1.0),), {}, False),
    ("RandomBrightness", ((0.1, 0.1),), {}, False),
]


@pytest.mark.parametrize("name,args,kwargs,unit", COLOR_CASES)
def test_color_layers_match_keras(real_keras, name, args, kwargs, unit):
    x = IMAGES if unit else IMAGES * 255
    ours = getattr(L, name)(*args, **kwargs)
    ref = getattr(real_keras.layers, name)(*args, **kwargs)
    np.testing.assert_allclose(
        np_(ours(x, training=True)), theirs(real_keras, ref(x, training=True)), rtol=1e-5, atol=1e-4
    )
    roundtrip(ours)


def test_gaussian_blur_matches_keras(real_keras):
    for ks in (3, 5):
        ours = L.RandomGaussianBlur(kernel_size=ks).blur(ts.tensor(IMAGES), (0.7, 0.4))
        ref = real_keras.ops.image.gaussian_blur(IMAGES, (ks, ks), (0.7, 0.4), data_format="channels_last")
        np.testing.assert_allclose(np_(ours), theirs(real_keras, ref), rtol=1e-5, atol=1e-6)


RANDOM_COLOR_LAYERS = [
    ("RandomHue", (0.4,), {"value_range": (0, 1)}),
    ("RandomSaturation", (0.4,), {"value_range": (0, 1)}),
    (
        "RandomColorJitter",
        (),
        {
            "value_range": (0, 1),
            "brightness_factor": 0.2,
            "contrast_factor": 0.3,
            "saturation_factor": 0.4,
            "hue_factor": 0.2,
        },
    ),
    ("RandomGaussianBlur", (), {"factor": (1.0, 1.0), "value_range": (0, 1)}),
    ("RandomSharpness", (0.5,), {"value_range": (0, 1)}),
    ("RandomGrayscale", (0.5,), {}),
    ("RandomInvert", (), {"value_range": (0, 1)}),
    ("RandomPosterization", (4,), {"value_range": (0, 1)}),
    ("Solarization", (), {"addition_factor": 0.3, "threshold_factor": 0.5, "value_range": (0, 1)}),
    ("RandomColorDegeneration", (0.5,), {"value_range": (0, 1)}),
]


@pytest.mark.parametrize("name,args,kwargs", RANDOM_COLOR_LAYERS)
def test_random_color_layers_properties(name, args, kwargs):
    cls = getattr(L, name)
    x = np.repeat(IMAGES, 4, axis=0)
    a, b = cls(*args, seed=11, **kwargs), cls(*args, seed=11, **kwargs)
    out = np_(a(x, training=True))
    np.testing.assert_array_equal(out, np_(b(x, training=True)))
    np.testing.assert_array_equal(np_(a(x, training=False)), x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert not np.allclose(out, x)
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6
    roundtrip(a)


def test_hsv_round_trip_and_hue_shift():
    from tessera.keras.layers.preprocessing.color import hsv_to_rgb, rgb_to_hsv

    x = ts.tensor(IMAGES)
    np.testing.assert_allclose(np_(hsv_to_rgb(rgb_to_hsv(x))), IMAGES, atol=1e-5)
    hue = L.RandomHue((1.0, 1.0), value_range=(0, 1), seed=0)  # half a turn either way: the same hue
    full = np_(hue(IMAGES, training=True))
    again = np_(L.RandomHue((1.0, 1.0), value_range=(0, 1), seed=1)(IMAGES, training=True))
    np.testing.assert_allclose(full, again, atol=1e-5)
    assert not np.allclose(full, IMAGES, atol=1e-2)


COLOR_ERRORS = [
    (lambda: L.RandomGrayscale(1.5), "factor"),
    (lambda: L.RandomHue(1.5), "factor"),
    (lambda: L.RandomPosterization(9), "factor"),
    (lambda: L.RandomGaussianBlur(kernel_size=4), "odd"),
    (lambda: L.Solarization(addition_factor=2.0), "addition_factor"),
    (lambda: L.AutoContrast(value_range=(0,)), "value_range"),
    (lambda: L.RandomGrayscale(1.0)(np.ones((1, 2, 2, 4), "float32"), training=True), "3 channels"),
]


@pytest.mark.parametrize("make,match", COLOR_ERRORS)
def test_color_layer_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# -- audio layers ----------------------------------------------------------------------------------------------
SIGNAL = RNG.normal(size=(2, 200, 2)).astype("float32")
MONO = RNG.normal(size=(2, 300)).astype("float32")
STFT_OPTIONS = [
    {},
    {"padding": "same", "frame_step": 5},
    {"expand_dims": True, "fft_length": 32, "window": "hamming", "scaling": "spectrum", "periodic": True},
    {"data_format": "channels_first", "scaling": None},
]


@pytest.mark.parametrize("mode", ["log", "magnitude", "psd", "real", "imag", "angle", "stft"])
@pytest.mark.parametrize("kwargs", STFT_OPTIONS)
def test_stft_spectrogram_matches_keras(real_keras, mode, kwargs):
    x = np.transpose(SIGNAL, (0, 2, 1)) if kwargs.get("data_format") == "channels_first" else SIGNAL
    ours = L.STFTSpectrogram(mode=mode, frame_length=20, **kwargs)
    ref = real_keras.layers.STFTSpectrogram(mode=mode, frame_length=20, **kwargs)
    expected = theirs(real_keras, ref(x))
    np.testing.assert_allclose(np_(ours(x)), expected, rtol=1e-4, atol=1e-4)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    np.testing.assert_allclose(np_(roundtrip(ours)(x)), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fft_length": 64, "sequence_stride": 16, "num_mel_bins": 10},
        {
            "fft_length": 64,
            "sequence_length": 48,
            "sequence_stride": 20,
            "num_mel_bins": 8,
            "power_to_db": False,
            "window": "hamming",
            "sampling_rate": 8000,
        },
        {
            "fft_length": 32,
            "sequence_stride": 8,
            "num_mel_bins": 6,
            "mag_exp": 1.0,
            "top_db": 20.0,
            "ref_power": 2.0,
        },
    ],
)
def test_mel_spectrogram_matches_keras(real_keras, kwargs):
    ours, ref = L.MelSpectrogram(**kwargs), real_keras.layers.MelSpectrogram(**kwargs)
    for x in (MONO, MONO[0]):
        expected = theirs(real_keras, ref(x))
        np.testing.assert_allclose(
            np_(ours(x)), expected, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(expected).max())
        )
    assert tuple(ours.compute_output_shape((None, 300))) == tuple(ref.compute_output_shape((None, 300)))
    roundtrip(ours)


def test_spectrograms_differentiable_and_errors():
    x = ts.tensor(MONO, requires_grad=True)
    L.MelSpectrogram(fft_length=32, sequence_stride=8, num_mel_bins=4, power_to_db=False)(x).sum().backward()
    assert x.grad is not None and np.isfinite(np_(x.grad)).all()
    with pytest.raises(ValueError, match="frame_step"):
        L.STFTSpectrogram(frame_length=8, frame_step=9)
    with pytest.raises(ValueError, match="mode"):
        L.STFTSpectrogram(mode="power")
    with pytest.raises(ValueError, match="fft_length"):
        L.MelSpectrogram(fft_length=16, sequence_length=32)
    with pytest.raises(TypeError, match="float"):
        L.STFTSpectrogram(frame_length=4)(np.ones((1, 8, 1), "int32"))


# -- mixing layers, erasing, shear, pipeline -------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", [("MixUp", {"alpha": 2.0}), ("CutMix", {})])
def test_mix_layers_properties(name, kwargs):
    x = np.concatenate([IMAGES, IMAGES[:, ::-1], IMAGES[:, :, ::-1]])
    labels = np.eye(6, dtype="float32")
    a, b = getattr(L, name)(seed=4, **kwargs), getattr(L, name)(seed=4, **kwargs)
    out = a({"images": x, "labels": labels}, training=True)
    again = b({"images": x, "labels": labels}, training=True)
    np.testing.assert_array_equal(np_(out["images"]), np_(again["images"]))
    mixed_labels = np_(out["labels"])
    np.testing.assert_allclose(mixed_labels.sum(-1), 1.0, rtol=1e-6)
    assert not np.allclose(np_(out["images"]), x)
    lo, hi = x.min(axis=0), x.max(axis=0)  # every pixel is a convex combination of the batch's pixels
    assert (np_(out["images"]) >= lo - 1e-6).all() and (np_(out["images"]) <= hi + 1e-6).all()
    np.testing.assert_array_equal(np_(a(x, training=False)), x)
    roundtrip(a)


def test_cutmix_labels_match_pasted_area():
    x = np.stack([np.zeros((8, 8, 1)), np.ones((8, 8, 1))]).astype("float32")
    out = L.CutMix(seed=0)(
        {"images": x, "labels": np.array([[1.0, 0.0], [0.0, 1.0]], "float32")}, training=True
    )
    images, labels = np_(out["images"]), np_(out["labels"])
    for i in range(2):
        own = 1.0 - images[i].mean() if i == 1 else images[i].mean()
        if own > 0:  # the partner was pasted: the label weight of the partner is the pasted area
            np.testing.assert_allclose(labels[i, 1 - i], own, atol=0.2)


def test_random_erasing_and_shear_properties():
    x = np.repeat(IMAGES, 4, axis=0)
    erased = np_(
        L.RandomErasing(factor=(1.0, 1.0), fill_value=0.5, value_range=(0, 1), seed=2)(x, training=True)
    )
    changed = (erased != x).any(axis=-1)
    assert changed.any() and (erased[changed.nonzero()] == 0.5).all()
    np.testing.assert_array_equal(np_(L.RandomErasing(seed=2)(x, training=False)), x)
    shear = L.RandomShear(x_factor=0.3, y_factor=0.2, seed=3)
    out = np_(shear(x, training=True))
    assert out.shape == x.shape and not np.allclose(out, x)
    np.testing.assert_array_equal(
        out, np_(L.RandomShear(x_factor=0.3, y_factor=0.2, seed=3)(x, training=True))
    )
    roundtrip(shear)
    with pytest.raises(ValueError, match="x_factor"):
        L.RandomShear(x_factor=1.5)
    with pytest.raises(ValueError, match="fill_value"):
        L.RandomErasing(fill_value=(1, 2))


def test_pipeline_matches_keras_and_round_trips(real_keras):
    ours = L.Pipeline([L.Rescaling(2.0), L.CenterCrop(3, 3), L.RandomFlip(seed=1)])
    ref = real_keras.layers.Pipeline(
        [real_keras.layers.Rescaling(2.0), real_keras.layers.CenterCrop(3, 3), real_keras.layers.RandomFlip()]
    )
    np.testing.assert_allclose(
        np_(ours(IMAGES, training=False)), theirs(real_keras, ref(IMAGES, training=False))
    )
    clone = L.Pipeline.from_config(ours.get_config())
    assert [type(la).__name__ for la in clone.layers] == ["Rescaling", "CenterCrop", "RandomFlip"]
    assert tuple(ours.compute_output_shape((None, 7, 9, 3))) == (None, 3, 3, 3)
    with pytest.raises(TypeError, match="Pipeline"):
        L.Pipeline([lambda x: x])


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_perspective_sampling_matches_keras(real_keras, interpolation):
    from tessera.keras.layers.preprocessing.mixing import homography

    start = np.repeat(np.array([[[0.0, 0.0], [8, 0.0], [0.0, 6], [8, 6]]], np.float32), 2, 0)
    end = start + start * RNG.uniform(-0.3, 0.3, (2, 4, 2)).astype(np.float32)
    ours = affine_sample(ts.tensor(IMAGES), homography(start, end), interpolation, "constant", 0.2, True)
    ref = real_keras.ops.image.perspective_transform(
        IMAGES, start, end, interpolation=interpolation, fill_value=0.2, data_format="channels_last"
    )
    np.testing.assert_allclose(np_(ours), theirs(real_keras, ref), rtol=1e-5, atol=1e-5)


def test_random_perspective_properties():
    x = np.repeat(IMAGES, 4, axis=0)
    a = L.RandomPerspective(scale=0.5, seed=6)
    out = np_(a(x, training=True))
    np.testing.assert_array_equal(out, np_(L.RandomPerspective(scale=0.5, seed=6)(x, training=True)))
    np.testing.assert_array_equal(np_(a(x, training=False)), x)
    assert out.shape == x.shape and not np.allclose(out, x)
    roundtrip(a)
    with pytest.raises(ValueError, match="scale"):
        L.RandomPerspective(scale=2.0)


def test_max_num_bounding_boxes_matches_keras(real_keras):
    boxes = RNG.uniform(size=(2, 5, 4)).astype("float32")
    labels = np.arange(10, dtype="float32").reshape(2, 5)
    for n in (3, 7):
        data = {"images": IMAGES, "bounding_boxes": {"boxes": boxes, "labels": labels}}
        ours = L.MaxNumBoundingBoxes(n, bounding_box_format="xyxy")(data)
        ref = real_keras.layers.MaxNumBoundingBoxes(n, bounding_box_format="xyxy")(
            {"images": IMAGES, "bounding_boxes": {"boxes": boxes, "labels": labels}}
        )
        for key in ("boxes", "labels"):
            np.testing.assert_array_equal(
                np_(ours["bounding_boxes"][key]), theirs(real_keras, ref["bounding_boxes"][key])
            )
        np.testing.assert_array_equal(np_(ours["images"]), IMAGES)
    ragged = L.MaxNumBoundingBoxes(2, bounding_box_format="xyxy")(
        {
            "images": IMAGES,
            "bounding_boxes": {"boxes": [np.ones((1, 4)), np.ones((3, 4))], "labels": [[1], [1, 2, 3]]},
        }
    )
    np.testing.assert_array_equal(np_(ragged["bounding_boxes"]["labels"]), [[1, -1], [1, 2]])
    with pytest.raises(ValueError, match="bounding box format"):
        L.MaxNumBoundingBoxes(2)({"images": IMAGES, "bounding_boxes": {"boxes": boxes, "labels": labels}})
    with pytest.raises(ValueError, match="max_number"):
        L.MaxNumBoundingBoxes(0)


def test_rand_augment_properties():
    x = np.repeat(IMAGES, 2, axis=0)
    a = L.RandAugment(value_range=(0, 1), num_ops=3, seed=7)
    out = np_(a(x, training=True))
    np.testing.assert_array_equal(
        out, np_(L.RandAugment(value_range=(0, 1), num_ops=3, seed=7)(x, training=True))
    )
    np.testing.assert_array_equal(np_(a(x, training=False)), x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1 and not np.allclose(out, x)
    roundtrip(a)


@pytest.mark.parametrize("all_ops", [True, False])
def test_aug_mix_properties(all_ops):
    x = np.repeat(IMAGES, 2, axis=0)
    a = L.AugMix(value_range=(0, 1), all_ops=all_ops, seed=8)
    out = np_(a(x, training=True))
    np.testing.assert_array_equal(
        out, np_(L.AugMix(value_range=(0, 1), all_ops=all_ops, seed=8)(x, training=True))
    )
    np.testing.assert_array_equal(np_(a(x, training=False)), x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1 and not np.allclose(out, x)
    roundtrip(a)
    with pytest.raises(ValueError, match="alpha"):
        L.AugMix(alpha=0.0)


def test_random_elastic_transform_properties():
    x = np.repeat(IMAGES, 2, axis=0)
    a = L.RandomElasticTransform(factor=(1.0, 1.0), scale=(0.5, 1.0), value_range=(0, 1), seed=9)
    out = np_(a(x, training=True))
    again = L.RandomElasticTransform(factor=(1.0, 1.0), scale=(0.5, 1.0), value_range=(0, 1), seed=9)
    np.testing.assert_array_equal(out, np_(again(x, training=True)))
    np.testing.assert_array_equal(np_(a(x, training=False)), x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1 and not np.allclose(out, x)
    roundtrip(a)
    np.testing.assert_array_equal(np_(L.RandomElasticTransform(scale=0.0, seed=1)(x, training=True)), x)
    with pytest.raises(ValueError, match="fill_mode"):
        L.RandomElasticTransform(fill_mode="smear")


# -- inside Model.fit ------------------------------------------------------------------------------------------
def test_preprocessing_layers_inside_fit():
    x = RNG.uniform(0, 255, (16, 8, 8, 3)).astype("float32")
    y = RNG.uniform(size=(16, 1)).astype("float32")
    model = ts.keras.Sequential(
        [ts.keras.Input((8, 8, 3)), L.Rescaling(1 / 255.0), L.RandomFlip(seed=1), L.RandomRotation(0.1, seed=1),
         L.Resizing(4, 4), L.Flatten(), L.Dense(1)]
    )  # fmt: skip
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict(x[:2], verbose=0).shape == (2, 1)
    texts = np.array(["the cat sat", "a dog ran", "the dog", "cat"] * 4)
    vec = L.TextVectorization(output_sequence_length=5)
    vec.adapt(texts)
    text_model = ts.keras.Sequential(
        [vec, L.Embedding(vec.vocabulary_size(), 4), L.GlobalAveragePooling1D(), L.Dense(1)]
    )
    text_model.compile(optimizer="adam", loss="mse")
    losses = text_model.fit(texts, y, epochs=3, batch_size=4, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    assert text_model.predict(np.array(["the cat", "zzz"]), verbose=0).shape == (2, 1)


@pytest.mark.parametrize(
    "shape,kwargs",
    [
        ((2, 20, 18, 3), {"tile_grid_size": (4, 4)}),
        ((2, 16, 16, 1), {"tile_grid_size": (2, 4), "clip_limit": 2.0}),
        ((1, 9, 7, 3), {"tile_grid_size": (3, 3), "clip_limit": 0.0, "value_range": (0, 1)}),
        ((2, 40, 40, 3), {}),
    ],
)
def test_clahe_matches_keras(real_keras, shape, kwargs):
    x = RNG.uniform(0, 1 if "value_range" in kwargs else 255, shape).astype("float32")
    ours = L.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)
    ref = real_keras.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)
    np.testing.assert_allclose(np_(ours(x)), theirs(real_keras, ref(x)), rtol=1e-5, atol=1e-3)
    roundtrip(ours)


def test_lookup_oov_hashing_options():
    from tessera.keras.layers.preprocessing._hashing import fingerprint64, siphash24

    strings = L.StringLookup(vocabulary=["a"], num_oov_indices=3)
    assert np_(strings(["zz"]))[0] == fingerprint64(b"zz") % 3
    salted = L.StringLookup(vocabulary=["a"], num_oov_indices=3, salt=7)
    assert np_(salted(["zz"]))[0] == siphash24(7, 7, b"zz") % 3
    assert roundtrip(salted).salt == [7, 7]
    farm = L.IntegerLookup(vocabulary=[1], num_oov_indices=4, oov_method="farmhash")
    assert np_(farm([12345]))[0] == fingerprint64(b"12345") % 4
    with pytest.raises(ValueError, match="salt"):
        L.IntegerLookup(salt=3)
    with pytest.raises(ValueError, match="oov_method"):
        L.IntegerLookup(oov_method="md5")


# degenerate factor ranges make Keras's random draws constants: the geometry must then match exactly
FIXED_GEOMETRY = [
    ("RandomRotation", ((0.1, 0.1),), {}),
    ("RandomRotation", ((-0.2, -0.2),), {"fill_mode": "constant", "fill_value": 0.5}),
    ("RandomRotation", ((0.3, 0.3),), {"fill_mode": "wrap", "interpolation": "nearest"}),
    ("RandomZoom", ((0.2, 0.2),), {}),
    ("RandomZoom", ((-0.3, -0.3), (0.1, 0.1)), {"fill_mode": "nearest"}),
    ("RandomTranslation", ((0.1, 0.1), (0.2, 0.2)), {}),
    ("RandomTranslation", ((-0.2, -0.2), (0.0, 0.0)), {"fill_mode": "wrap", "interpolation": "nearest"}),
]


@pytest.mark.parametrize("name,args,kwargs", FIXED_GEOMETRY)
def test_random_geometry_matches_keras_for_fixed_factors(real_keras, name, args, kwargs):
    ours = getattr(L, name)(*args, **kwargs)(IMAGES, training=True)
    ref = getattr(real_keras.layers, name)(*args, **kwargs)(IMAGES, training=True)
    np.testing.assert_allclose(np_(ours), theirs(real_keras, ref), rtol=1e-5, atol=1e-5)


KERAS_LOOKUP_EXAMPLES = [  # keras/src/layers/preprocessing/string_lookup.py docstring (Keras needs TF to run them)
    ({"vocabulary": VOCAB}, [["a", "c", "d"], ["d", "z", "b"]], [[1, 3, 4], [4, 0, 2]]),
    ({"vocabulary": VOCAB, "num_oov_indices": 2}, [["a", "c", "d"], ["m", "z", "b"]], [[2, 4, 5], [0, 1, 3]]),
    ({"vocabulary": VOCAB, "output_mode": "one_hot"}, ["a", "b", "c", "d", "z"], np.eye(5)[[1, 2, 3, 4, 0]]),
    (
        {"vocabulary": VOCAB, "output_mode": "count"},
        [["a", "c", "d", "d"], ["d", "z", "b", "z"]],
        [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]],
    ),
]


@pytest.mark.parametrize("kwargs,inputs,expected", KERAS_LOOKUP_EXAMPLES)
def test_string_lookup_matches_keras_examples(kwargs, inputs, expected):
    np.testing.assert_array_equal(np_(L.StringLookup(**kwargs)(inputs)), np.array(expected))


def test_string_lookup_adapt_and_invert_keras_examples():
    data = [["a", "c", "d"], ["d", "z", "b"]]
    layer = L.StringLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    np.testing.assert_array_equal(np_(layer(data)), [[5, 3, 1], [1, 2, 4]])
    inverse = L.StringLookup(vocabulary=VOCAB, invert=True)
    out = inverse(L.StringLookup(vocabulary=VOCAB)(data))
    np.testing.assert_array_equal(out, np.array([[b"a", b"c", b"d"], [b"d", b"[UNK]", b"b"]], dtype=object))


IVOCAB = [12, 36, 1138, 42]
IDATA = np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])
KERAS_INTEGER_LOOKUP_EXAMPLES = [  # keras/src/layers/preprocessing/integer_lookup.py docstring
    ({"vocabulary": IVOCAB}, np.array([[12, 1138, 42], [42, 1000, 36]]), [[1, 3, 4], [4, 0, 2]]),
    (
        {"vocabulary": IVOCAB, "num_oov_indices": 2},
        np.array([[12, 1138, 42], [37, 1000, 36]]),
        [[2, 4, 5], [1, 0, 3]],
    ),
    (
        {"vocabulary": [10, 20, 30], "num_oov_indices": 4, "oov_method": "floormod"},
        np.array([100, 300, 700, 1100, 1700, 2000]),
        [0, 0, 0, 0, 0, 0],
    ),
    (
        {"vocabulary": [10, 20, 30], "num_oov_indices": 4, "oov_method": "farmhash"},
        np.array([100, 300, 700, 1100, 1700, 2000]),
        [3, 3, 2, 2, 0, 1],
    ),
    (
        {"vocabulary": IVOCAB, "output_mode": "one_hot"},
        np.array([12, 36, 1138, 42, 7]),
        np.eye(5)[[1, 2, 3, 4, 0]],
    ),
    ({"vocabulary": IVOCAB, "output_mode": "multi_hot"}, IDATA, [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]),
    ({"vocabulary": IVOCAB, "output_mode": "count"}, IDATA, [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]),
    (
        {"vocabulary": IVOCAB, "output_mode": "tf_idf", "idf_weights": [0.25, 0.75, 0.6, 0.4]},
        IDATA,
        [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]],
    ),
]


@pytest.mark.parametrize("kwargs,inputs,expected", KERAS_INTEGER_LOOKUP_EXAMPLES)
def test_integer_lookup_matches_keras_examples(kwargs, inputs, expected):
    np.testing.assert_allclose(np_(L.IntegerLookup(**kwargs)(inputs)), np.array(expected), rtol=1e-6)


def test_integer_lookup_adapt_keras_example():
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    layer = L.IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    np.testing.assert_array_equal(np_(layer(data)), [[5, 2, 1], [1, 3, 4]])


def test_text_vectorization_keras_examples():  # keras/src/layers/preprocessing/text_vectorization.py docstring
    layer = L.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    np.testing.assert_array_equal(np_(layer([["foo qux bar"], ["qux baz"]])), [[4, 1, 3, 0], [1, 2, 0, 0]])
    given = L.TextVectorization(
        max_tokens=5000, output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"]
    )
    assert given.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]


def test_hashing_floats_and_single_bin():
    layer = L.Hashing(num_bins=7)
    np.testing.assert_array_equal(
        np_(layer(np.array([3.7, -2.2]))), np_(layer(np.array([3, -2])))
    )  # int64 cast
    np.testing.assert_array_equal(np_(L.Hashing(num_bins=1, mask_value="")(["", "a"])), [0, 0])


def test_save_and_load_models_with_preprocessing(tmp_path):
    texts = np.array(["the cat sat", "a dog ran", "the dog", "cat"])
    vec = L.TextVectorization(output_sequence_length=5)
    vec.adapt(texts)
    text_model = ts.keras.Sequential([vec, L.Embedding(vec.vocabulary_size(), 4), L.GlobalAveragePooling1D()])
    norm = L.Normalization()
    norm.adapt(RNG.normal(size=(10, 3)).astype("float32"))
    num_model = ts.keras.Sequential([ts.keras.Input((3,)), norm, L.Dense(2)])
    x = RNG.normal(size=(2, 3)).astype("float32")
    for name, model, inp in (("text", text_model, texts[:2]), ("num", num_model, x)):
        expected = np_(model(inp))
        path = str(tmp_path / f"{name}.keras")
        model.save(path)
        np.testing.assert_allclose(np_(ts.keras.saving.load_model(path)(inp)), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "name,args",
    [
        ("RandomFlip", ()),
        ("RandomRotation", (0.2,)),
        ("RandomZoom", (0.3,)),
        ("RandomTranslation", (0.2, 0.2)),
        ("RandomShear", (0.3, 0.2)),
        ("RandomErasing", ()),
        ("RandomPerspective", ()),
        ("RandomCrop", (4, 5)),
        ("RandomGaussianBlur", ()),
        ("RandomSharpness", (0.5,)),
        ("Resizing", (4, 5)),
        ("CenterCrop", (3, 3)),
    ],
)
def test_channels_first_is_the_transposed_channels_last(name, args):
    x = np.repeat(IMAGES, 2, axis=0) * 255
    last = (
        np_(getattr(L, name)(*args, seed=3)(x, training=True))
        if name not in ("Resizing", "CenterCrop")
        else None
    )
    if last is None:
        last = np_(getattr(L, name)(*args)(x))
        first = np_(getattr(L, name)(*args, data_format="channels_first")(np.transpose(x, (0, 3, 1, 2))))
    else:
        layer = getattr(L, name)(*args, seed=3, data_format="channels_first")
        first = np_(layer(np.transpose(x, (0, 3, 1, 2)), training=True))
    np.testing.assert_allclose(np.transpose(first, (0, 2, 3, 1)), last, rtol=1e-6, atol=1e-4)
