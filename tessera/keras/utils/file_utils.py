"""``keras.utils.get_file``: a file from the Keras cache directory (``$KERAS_HOME`` or ``~/.keras``),
downloaded from ``origin`` when it is not there yet, hash-checked and optionally extracted."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

__all__ = ["get_file", "keras_home"]


def keras_home() -> str:
    """The Keras cache root: ``$KERAS_HOME``, else ``~/.keras``.

    Example:
        >>> os.path.basename(keras_home()) in (".keras", os.path.basename(os.environ.get("KERAS_HOME", "")))
        True
    """
    return os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")))


def _hash_file(path: str, algorithm: str) -> str:
    h = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _hash_ok(path: str, file_hash: str, algorithm: str) -> bool:
    if algorithm == "auto":
        algorithm = "sha256" if len(file_hash) == 64 else "md5"
    return _hash_file(path, algorithm) == str(file_hash)


def _extract(path: str, target: str, archive_format) -> bool:
    formats = {"auto": ("tar", "zip"), "tar": ("tar",), "zip": ("zip",)}.get(archive_format or "auto")
    if formats is None:
        raise ValueError(f'get_file: archive_format must be "auto", "tar" or "zip", got {archive_format!r}')
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                archive.extractall(target, filter="data")  # no links out of target, no device files
            return True
        if fmt == "zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                root = os.path.realpath(target)
                for member in archive.namelist():
                    dest = os.path.realpath(os.path.join(target, member))
                    if os.path.commonpath([root, dest]) != root:
                        raise ValueError(
                            f"get_file: archive member {member!r} would be written outside {target}"
                        )
                archive.extractall(target)
            return True
    return False


def get_file(
    fname: str | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: str = "auto",
    cache_dir: str | None = None,
    force_download: bool = False,
) -> str:
    """The path of ``fname`` in ``<cache_dir>/<cache_subdir>``: used as is when present (and matching
    ``file_hash``), else downloaded from ``origin``; with ``extract``, the directory it was extracted to.
    Without network access a missing file raises an error saying where to put it.

    Example:
        >>> url = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
        >>> path = get_file("mnist.npz", origin=url)  # doctest: +SKIP
    """
    if origin is None:
        raise ValueError('get_file: please specify the "origin" argument (URL of the file to download)')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if hash_algorithm not in ("auto", "md5", "sha256"):
        raise ValueError(
            f'get_file: hash_algorithm must be "auto", "md5" or "sha256", got {hash_algorithm!r}'
        )
    base = os.path.expanduser(cache_dir) if cache_dir is not None else keras_home()
    if not os.access(base, os.W_OK) and os.path.exists(base):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    given = os.fspath(fname) if fname is not None else None
    if not given:
        given_name = None
        name = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not name:
            raise ValueError(f"get_file: can't parse the file name from origin {origin!r}; pass `fname`")
    else:
        given_name, name = given, given
        if os.sep in name:
            raise ValueError(
                "get_file: paths are not accepted as the `fname` argument; use `cache_dir` for the parent "
                f"directory. Received: fname={fname}"
            )
    if extract or untar:
        if given_name and "." in name:
            target = os.path.join(datadir, name)
            extraction_dir = os.path.join(datadir, f"{name[: name.find('.')]}_extracted")
        else:
            target = os.path.join(datadir, f"{name}_archive")
            extraction_dir = os.path.join(datadir, name)
    else:
        target = os.path.join(datadir, name)
    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not _hash_ok(target, file_hash, hash_algorithm):
        print(f"A local file was found, but its hash does not match {file_hash}; downloading it again.")
        download = True
    if download:
        print(f"Downloading data from {origin}")
        partial = target + ".part"
        try:
            with urllib.request.urlopen(origin, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError, ValueError) as e:
            if os.path.exists(partial):
                os.remove(partial)
            raise OSError(
                f"get_file: URL fetch failure on {origin}: {getattr(e, 'reason', e)}. Without network access, "
                f"place the file at {target} (it is used from there)."
            ) from None
        os.replace(partial, target)
        if file_hash is not None and not _hash_ok(target, file_hash, hash_algorithm):
            raise ValueError(
                f"get_file: incomplete or corrupted file detected: the {hash_algorithm} hash of {target} does "
                f"not match the provided value of {file_hash}"
            )
    if extract or untar:
        if not os.path.isdir(extraction_dir) or download:
            if not _extract(target, extraction_dir, "tar" if untar else archive_format):
                raise ValueError(f"get_file: could not extract {target} as an archive ({archive_format})")
        return extraction_dir
    return target
