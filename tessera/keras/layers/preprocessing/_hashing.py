"""The string hashes Keras's preprocessing layers use (through TensorFlow): FarmHash ``Fingerprint64``
(``tf.strings.to_hash_bucket_fast``), SipHash-2-4 (``to_hash_bucket_strong``, salted) and
``FingerprintCat64`` (``tf.sparse.cross_hashed``), in pure Python on 64-bit unsigned ints. Checked against
the bins of Keras's documented examples."""

from __future__ import annotations

__all__ = ["fingerprint64", "siphash24", "fingerprint_cat64", "CROSS_HASH_KEY"]

CROSS_HASH_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default hash_key

M = (1 << 64) - 1
k0, k1, k2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


def rot(v, s):
    return ((v >> s) | (v << (64 - s))) & M if s else v


def sm(v):
    return v ^ (v >> 47)


def f64(b, i):
    return int.from_bytes(b[i : i + 8], "little")


def f32(b, i):
    return int.from_bytes(b[i : i + 4], "little")


def h16(u, v, mul):
    a = ((u ^ v) * mul) & M
    a ^= a >> 47
    b = ((v ^ a) * mul) & M
    b ^= b >> 47
    return (b * mul) & M


def len0to16(s):
    n = len(s)
    if n >= 8:
        mul = (k2 + n * 2) & M
        a = (f64(s, 0) + k2) & M
        b = f64(s, n - 8)
        c = (rot(b, 37) * mul + a) & M
        d = ((rot(a, 25) + b) * mul) & M
        return h16(c, d, mul)
    if n >= 4:
        mul = (k2 + n * 2) & M
        a = f32(s, 0)
        return h16((n + (a << 3)) & M, f32(s, n - 4), mul)
    if n > 0:
        a, b, c = s[0], s[n >> 1], s[n - 1]
        y = (a + (b << 8)) & 0xFFFFFFFF
        z = (n + (c << 2)) & 0xFFFFFFFF
        return (sm(((y * k2) ^ (z * k0)) & M) * k2) & M
    return k2


def len17to32(s):
    n = len(s)
    mul = (k2 + n * 2) & M
    a = (f64(s, 0) * k1) & M
    b = f64(s, 8)
    c = (f64(s, n - 8) * mul) & M
    d = (f64(s, n - 16) * k2) & M
    return h16((rot((a + b) & M, 43) + rot(c, 30) + d) & M, (a + rot((b + k2) & M, 18) + c) & M, mul)


def len33to64(s):
    n = len(s)
    mul = (k2 + n * 2) & M
    a = (f64(s, 0) * k2) & M
    b = f64(s, 8)
    c = (f64(s, n - 8) * mul) & M
    d = (f64(s, n - 16) * k2) & M
    y = (rot((a + b) & M, 43) + rot(c, 30) + d) & M
    z = h16(y, (a + rot((b + k2) & M, 18) + c) & M, mul)
    e = (f64(s, 16) * mul) & M
    f = f64(s, 24)
    g = ((y + f64(s, n - 32)) * mul) & M
    h = ((z + f64(s, n - 24)) * mul) & M
    return h16((rot((e + f) & M, 43) + rot(g, 30) + h) & M, (e + rot((f + a) & M, 18) + g) & M, mul)


def weak(s, i, a, b):
    w, x, y, z = f64(s, i), f64(s, i + 8), f64(s, i + 16), f64(s, i + 24)
    a = (a + w) & M
    b = rot((b + a + z) & M, 21)
    c = a
    a = (a + x) & M
    a = (a + y) & M
    b = (b + rot(a, 44)) & M
    return ((a + z) & M, (b + c) & M)


def fingerprint64(s: bytes) -> int:
    """FarmHash Fingerprint64 (farmhashna::Hash64) of ``s``."""
    n = len(s)
    if n <= 32:
        return len0to16(s) if n <= 16 else len17to32(s)
    if n <= 64:
        return len33to64(s)
    seed = 81
    x = seed
    y = (seed * k1 + 113) & M
    z = (sm((y * k2 + 113) & M) * k2) & M
    v, w = (0, 0), (0, 0)
    x = (x * k2 + f64(s, 0)) & M
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    i = 0
    while True:
        x = (rot((x + y + v[0] + f64(s, i + 8)) & M, 37) * k1) & M
        y = (rot((y + v[1] + f64(s, i + 48)) & M, 42) * k1) & M
        x ^= w[1]
        y = (y + v[0] + f64(s, i + 40)) & M
        z = (rot((z + w[0]) & M, 33) * k1) & M
        v = weak(s, i, (v[1] * k1) & M, (x + w[0]) & M)
        w = weak(s, i + 32, (z + w[1]) & M, (y + f64(s, i + 16)) & M)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = (k1 + ((z & 0xFF) << 1)) & M
    i = last64
    w = ((w[0] + ((n - 1) & 63)) & M, w[1])
    v = ((v[0] + w[0]) & M, v[1])
    w = ((w[0] + v[0]) & M, w[1])
    x = (rot((x + y + v[0] + f64(s, i + 8)) & M, 37) * mul) & M
    y = (rot((y + v[1] + f64(s, i + 48)) & M, 42) * mul) & M
    x ^= (w[1] * 9) & M
    y = (y + v[0] * 9 + f64(s, i + 40)) & M
    z = (rot((z + w[0]) & M, 33) * mul) & M
    v = weak(s, i, (v[1] * mul) & M, (x + w[0]) & M)
    w = weak(s, i + 32, (z + w[1]) & M, (y + f64(s, i + 16)) & M)
    z, x = x, z
    return h16((h16(v[0], w[0], mul) + sm(y) * k0 + z) & M, (h16(v[1], w[1], mul) + x) & M, mul)


def fingerprint_cat64(fp1: int, fp2: int) -> int:
    """TensorFlow's FingerprintCat64: combines two fingerprints."""
    kmul = 0xC6A4A7935BD1E995
    r = fp1 ^ kmul
    r ^= (sm((fp2 * kmul) & M) * kmul) & M
    r = (r * kmul) & M
    r = (sm(r) * kmul) & M
    return sm(r)


def siphash24(k0_: int, k1_: int, data: bytes) -> int:
    """SipHash-2-4 of ``data`` with the 128-bit key ``(k0_, k1_)``."""
    v0 = k0_ ^ 0x736F6D6570736575
    v1 = k1_ ^ 0x646F72616E646F6D
    v2 = k0_ ^ 0x6C7967656E657261
    v3 = k1_ ^ 0x7465646279746573

    def rotl(x, b):
        return ((x << b) | (x >> (64 - b))) & M

    def rnd(v0, v1, v2, v3):
        v0 = (v0 + v1) & M
        v1 = rotl(v1, 13)
        v1 ^= v0
        v0 = rotl(v0, 32)
        v2 = (v2 + v3) & M
        v3 = rotl(v3, 16)
        v3 ^= v2
        v0 = (v0 + v3) & M
        v3 = rotl(v3, 21)
        v3 ^= v0
        v2 = (v2 + v1) & M
        v1 = rotl(v1, 17)
        v1 ^= v2
        v2 = rotl(v2, 32)
        return v0, v1, v2, v3

    n = len(data)
    end = n - n % 8
    for i in range(0, end, 8):
        m = int.from_bytes(data[i : i + 8], "little")
        v3 ^= m
        v0, v1, v2, v3 = rnd(v0, v1, v2, v3)
        v0, v1, v2, v3 = rnd(v0, v1, v2, v3)
        v0 ^= m
    b = ((n & 0xFF) << 56) | int.from_bytes(data[end:], "little")
    v3 ^= b
    v0, v1, v2, v3 = rnd(v0, v1, v2, v3)
    v0, v1, v2, v3 = rnd(v0, v1, v2, v3)
    v0 ^= b
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = rnd(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3
