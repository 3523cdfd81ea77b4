"""C code generation for fusion groups: one C function per group, compiled by the system C compiler with
OpenMP across the cores and loops the compiler vectorizes, loaded with ctypes, cached on disk.

The cache key is a hash of the source, the compiler's identity and the flags; a kernel library is written
to a temporary file and renamed into place, so processes that compile the same kernel at once each end up
loading a complete file. ``TESSERA_CACHE_DIR`` moves the cache (default ``~/.cache/tessera/kernels``).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile

from . import logs

__all__ = ["compiler", "build", "CTYPES", "cache_dir", "FLAGS"]

# -ffp-contract=off: no fused multiply-adds the NumPy forwards do not do, so results match them bit for bit
# wherever the same libm functions are used
FLAGS = (
    "-O3",
    "-march=native",
    "-mprefer-vector-width=512",
    "-fopenmp",
    "-fno-math-errno",
    "-ffp-contract=off",
    "-fPIC",
    "-shared",
)
LIBS = ("-lmvec", "-lm")

# Tessera dtype name -> C type (float16/bfloat16 are not generated: those nodes run in NumPy)
CTYPES = {
    "float32": "float",
    "float64": "double",
    "int64": "int64_t",
    "int32": "int32_t",
    "int16": "int16_t",
    "int8": "int8_t",
    "uint8": "uint8_t",
    "bool": "uint8_t",
}

PRELUDE = """#include <stdint.h>
#include <math.h>
/* the vector variants of these come from glibc's libmvec when the loop is vectorized (float32 erf is
   lowered to a helper of its own) */
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float logf(float);
#pragma omp declare simd notinbranch
float tanhf(float);
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double log(double);
#pragma omp declare simd notinbranch
double erf(double);
#pragma omp declare simd notinbranch
double tanh(double);
"""


def cache_dir() -> str:
    d = os.environ.get("TESSERA_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "tessera", "kernels"
    )
    os.makedirs(d, exist_ok=True)
    return d


@functools.lru_cache(maxsize=1)
def compiler():
    """``(path, version line)`` of the C compiler (``$CC``, cc, gcc, clang), or None when there is none or
    it cannot build an OpenMP shared library."""
    for name in [os.environ.get("CC")] + ["cc", "gcc", "clang"]:
        if not name:
            continue
        path = shutil.which(name)
        if path is None:
            continue
        try:
            ver = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        cc = (path, ver.splitlines()[0] if ver else name)
        try:
            build("void tessera_probe(void) {}\n", ["tessera_probe"], cc=cc)
        except (OSError, RuntimeError):
            continue
        return cc
    return None


_LOADED: dict = {}
# OpenMP's default is to spin after a parallel loop; the threads then compete with NumPy's BLAS threads
# running the next matmul (measured: a compiled MLP step 34 ms spinning, 6 ms passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def build(source: str, symbols: list[str], *, cc=None) -> dict:
    """Compile ``source`` (or find it in the cache) and return ``{symbol: ctypes function}``."""
    cc = cc or compiler()
    if cc is None:
        raise RuntimeError("no C compiler found")
    key = hashlib.sha256("\0".join([source, cc[1], " ".join(FLAGS + LIBS)]).encode()).hexdigest()[:32]
    lib = _LOADED.get(key)
    if lib is None:
        d = cache_dir()
        path = os.path.join(d, f"k{key}.so")
        if os.path.exists(path):
            logs.log("kernels", f"cache hit {path}")
        else:
            logs.log("kernels", f"compiling {path}:\n{source}")
            fd, tmp_c = tempfile.mkstemp(suffix=".c", dir=d)
            with os.fdopen(fd, "w") as f:
                f.write(source)
            tmp_so = tmp_c[:-2] + ".so"
            try:
                r = subprocess.run(
                    [cc[0], *FLAGS, tmp_c, "-o", tmp_so, *LIBS], capture_output=True, text=True
                )
                if r.returncode != 0:
                    raise RuntimeError(f"C compiler failed:\n{r.stderr[-4000:]}")
                os.replace(tmp_so, path)  # atomic: a concurrent process sees no file or a whole one
            finally:
                for p in (tmp_c, tmp_so):
                    if os.path.exists(p):
                        os.unlink(p)
        lib = _LOADED[key] = ctypes.CDLL(path)
    out = {}
    for s in symbols:
        fn = getattr(lib, s)
        fn.restype = None
        out[s] = fn
    return out
