"""The model repository: TF Serving's layout, ``config.json``, loading, version status and hot reload.

Layout: ``DIR/NAME/VERSION/model.tessera`` (or ``model.onnx``), ``VERSION`` a positive integer, and an
optional ``DIR/NAME/config.json``::

    {"version_policy": {"latest": 2} | "all" | {"specific": [1, 3]},
     "version_labels": {"stable": 1, "canary": 2},
     "max_batch_size": 32, "batch_timeout_micros": 1000, "max_enqueued_batches": 100,
     "warmup": [{"instances": [[0, 0, 0, 0]]}, {"inputs": {"x": [[1, 2, 3, 4]]}, "signature_name": "..."}]}

The default policy is ``{"latest": 1}`` (TF Serving's). ``ModelRepository.poll()`` rescans the directory:
a new version is loaded and warmed up before it takes traffic, a version the policy no longer serves is
unloaded once its in-flight requests finish, and a version that fails to load is reported (state ``END``
with an error) without replacing a working one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "ModelConfig",
    "ConfigError",
    "RequestError",
    "NotFoundError",
    "ModelHandle",
    "ModelRepository",
    "parse_config",
]

log = logging.getLogger("tessera.serve")

AVAILABLE, LOADING, UNLOADING, END = "AVAILABLE", "LOADING", "UNLOADING", "END"
DEFAULT_SIGNATURE = "serving_default"
_MODEL_FILES = ("model.tessera", "model.onnx")
_CONFIG_KEYS = {
    "version_policy",
    "version_labels",
    "max_batch_size",
    "batch_timeout_micros",
    "max_enqueued_batches",
    "warmup",
}


class ConfigError(ValueError):
    """An invalid ``config.json``."""


class RequestError(ValueError):
    """A request the model cannot answer (HTTP 400): wrong input names, shapes or dtypes."""


class NotFoundError(KeyError):
    """An unknown model, version, label or signature (HTTP 404); a ``KeyError`` with a plain message."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass
class ModelConfig:
    """A model's parsed ``config.json`` (``parse_config``); the defaults are TF Serving's.

    Example:
        >>> parse_config({"version_policy": {"latest": 2}}).policy
        ('latest', 2)
    """

    policy: tuple = ("latest", 1)  # ("latest", n) | ("all", None) | ("specific", (versions...))
    labels: dict[str, int] = field(default_factory=dict)
    max_batch_size: int | None = None
    batch_timeout_micros: int | None = None
    max_enqueued_batches: int | None = None
    warmup: list[dict] = field(default_factory=list)

    def select(self, versions: list[int]) -> list[int]:
        """The versions (of those on disk) that the policy serves, newest first.

        Example:
            >>> ModelConfig(policy=("latest", 2)).select([1, 2, 3])
            [3, 2]
        """
        versions = sorted(versions, reverse=True)
        kind, arg = self.policy
        if kind == "latest":
            return versions[:arg]
        if kind == "all":
            return versions
        return [v for v in versions if v in arg]


def _positive_int(where: str, key: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {key!r} must be an integer >= {minimum}, got {value!r}")
    return value


def parse_config(data, where: str = "config.json") -> ModelConfig:
    """Validate a model's ``config.json`` content (a dict) into a ``ModelConfig``.

    Example:
        >>> cfg = parse_config({"version_policy": "all", "version_labels": {"stable": 1}})
        >>> cfg.policy, cfg.labels
        (('all', None), {'stable': 1})
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_CONFIG_KEYS))})")
    cfg = ModelConfig()
    pol = data.get("version_policy", {"latest": 1})
    if pol == "all" or pol == {"all": {}} or pol == {"all": True}:
        cfg.policy = ("all", None)
    elif isinstance(pol, dict) and len(pol) == 1 and "latest" in pol:
        n = pol["latest"]
        if isinstance(n, dict):  # TF Serving's {"latest": {"num_versions": n}}
            n = n.get("num_versions")
        cfg.policy = ("latest", _positive_int(where, "version_policy.latest", n))
    elif isinstance(pol, dict) and len(pol) == 1 and "specific" in pol:
        vs = pol["specific"]
        if isinstance(vs, dict):  # TF Serving's {"specific": {"versions": [...]}}
            vs = vs.get("versions")
        if not isinstance(vs, list) or not vs:
            raise ConfigError(f"{where}: 'version_policy.specific' must be a non-empty list of versions, "
                              f"got {vs!r}")  # fmt: skip
        cfg.policy = ("specific", tuple(_positive_int(where, "version_policy.specific[]", v) for v in vs))
    else:
        raise ConfigError(f"{where}: 'version_policy' must be {{'latest': N}}, 'all' or "
                          f"{{'specific': [versions]}}, got {pol!r}")  # fmt: skip
    labels = data.get("version_labels", {})
    if not isinstance(labels, dict):
        raise ConfigError(f"{where}: 'version_labels' must be an object {{label: version}}, got {labels!r}")
    for k, v in labels.items():
        if not k or not k.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"{where}: version label {k!r} must be alphanumeric (with - and _)")
        cfg.labels[k] = _positive_int(where, f"version_labels[{k!r}]", v)
    for key, minimum in (("max_batch_size", 1), ("batch_timeout_micros", 0), ("max_enqueued_batches", 1)):
        if key in data:
            setattr(cfg, key, _positive_int(where, key, data[key], minimum))
    warm = data.get("warmup", [])
    if not isinstance(warm, list) or not all(isinstance(w, dict) for w in warm):
        raise ConfigError(
            f"{where}: 'warmup' must be a list of predict request bodies (objects), got {warm!r}"
        )
    cfg.warmup = warm
    return cfg


def _np_dtype(name: str):
    from ..core import dtypes as _dt

    return _dt.as_dtype(name).np


class ModelHandle:
    """One loaded version of a model: its signatures' metadata and ``predict``.

    ``signatures``: name -> ``{"inputs": [{"name", "dtype", "shape"}], "outputs": [...]}`` (a dynamic
    dimension is its name, or ``None``). ``predict(inputs, signature)`` takes a dict input name -> array and
    returns a dict output name -> array; it raises ``RequestError`` for inputs the signature rejects.

    Example:
        >>> h = ModelHandle.load("m", 1, "models/m/1")  # doctest: +SKIP
        >>> h.predict({"input": np.ones((2, 4), np.float32)})["output_0"].shape  # doctest: +SKIP
        (2, 3)
    """

    def __init__(self, name: str, version: int, path: str, kind: str, runner, signatures: dict):
        self.name, self.version, self.path, self.kind = name, version, path, kind
        self.signatures = signatures
        self._runner = runner  # (signature, list of arrays) -> list of arrays
        self._inflight = 0
        self._cond = threading.Condition()
        self.batcher = None  # a ``Batcher`` for the default signature when the config asks for batching

    @classmethod
    def load(cls, name: str, version: int, path: str | os.PathLike) -> ModelHandle:
        """Load ``path/model.tessera`` (or ``path/model.onnx``)."""
        path = Path(path)
        if (path / "model.tessera").is_file():
            from ..export import load

            prog = load(path / "model.tessera")
            sigs = {
                n: {"inputs": [dict(i) for i in s.inputs], "outputs": [dict(o) for o in s.outputs]}
                for n, s in prog.signatures.items()
            }

            def run(sig, arrays):
                out = prog.signatures[sig](*arrays)
                return _leaves(out)

            return cls(name, version, str(path), "tessera", run, sigs)
        if (path / "model.onnx").is_file():
            from .. import onnx as ts_onnx

            mod = ts_onnx.load(str(path / "model.onnx"), trainable=False)
            mod.eval()
            import onnx as _onnx

            graph = _onnx.load(str(path / "model.onnx"), load_external_data=False).graph
            elem = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
                    10: "float16", 11: "float64", 16: "bfloat16"}  # fmt: skip
            init = {i.name for i in graph.initializer}

            def spec(vi):
                tt = vi.type.tensor_type
                shape = [
                    d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim
                ]
                return {"name": vi.name, "dtype": elem.get(tt.elem_type, "float32"), "shape": shape}

            sigs = {
                DEFAULT_SIGNATURE: {
                    "inputs": [spec(vi) for vi in graph.input if vi.name not in init],
                    "outputs": [spec(vi) for vi in graph.output],
                }
            }

            def run(sig, arrays):
                from ..autograd.grad_mode import no_grad
                from ..core.tensor import Tensor

                with no_grad():
                    out = mod(*[Tensor._wrap(a) for a in arrays])
                return _leaves(out)

            return cls(name, version, str(path), "onnx", run, sigs)
        raise FileNotFoundError(f"ModelHandle.load: {str(path)!r} holds neither model.tessera nor model.onnx")

    @property
    def platform(self) -> str:
        """``"tessera"`` for an exported program, ``"onnx"`` for an ONNX model."""
        return self.kind

    @property
    def inputs(self) -> list[dict]:
        """The default signature's inputs ``[{"name", "dtype", "datatype", "shape"}]`` (``datatype``: the
        same dtype name, for the KServe v2 routes)."""
        return [dict(s, datatype=s["dtype"]) for s in self.signature(None)["inputs"]]

    @property
    def outputs(self) -> list[dict]:
        """The default signature's outputs, as ``inputs`` lists them."""
        return [dict(s, datatype=s["dtype"]) for s in self.signature(None)["outputs"]]

    @property
    def inflight(self) -> int:
        """The number of requests running on this version now."""
        return self._inflight

    def signature(self, name: str | None) -> dict:
        """The metadata of signature ``name`` (default ``serving_default``); ``NotFoundError`` if none."""
        name = name or DEFAULT_SIGNATURE
        if name not in self.signatures:
            raise NotFoundError(f"model {self.name!r} version {self.version}: no signature {name!r} "
                                f"(signatures: {', '.join(sorted(self.signatures))})")  # fmt: skip
        return self.signatures[name]

    def predict(self, inputs: dict[str, np.ndarray], signature: str | None = None) -> dict[str, np.ndarray]:
        """Run ``signature`` on ``inputs`` (name -> array, converted to the input's dtype); name -> output."""
        sig_name = signature or DEFAULT_SIGNATURE
        sig = self.signature(sig_name)
        where = f"model {self.name!r} version {self.version} signature {sig_name!r}"
        names = [s["name"] for s in sig["inputs"]]
        if not isinstance(inputs, dict):
            raise RequestError(f"{where}: inputs must be a dict name -> array, got {type(inputs).__name__}")
        unknown = [k for k in inputs if k not in names]
        if unknown:
            raise RequestError(f"{where}: unknown input {unknown[0]!r} (inputs: {', '.join(names)})")
        missing = [n for n in names if n not in inputs]
        if missing:
            raise RequestError(f"{where}: missing input {missing[0]!r} (inputs: {', '.join(names)})")
        arrays, sizes = [], {}
        for spec in sig["inputs"]:
            a = _convert(where, spec, inputs[spec["name"]])
            want = spec["shape"]
            ok = a.ndim == len(want)
            for d, n in zip(want, a.shape) if ok else ():
                if isinstance(d, str) or d is None:
                    if n < 1 or (d is not None and sizes.setdefault(d, n) != n):
                        ok = False
                elif d != n:
                    ok = False
            if not ok:
                shown = ", ".join("?" if d is None else str(d) for d in want)
                raise RequestError(f"{where}: input {spec['name']!r} has shape {list(a.shape)}, expected "
                                   f"{spec['dtype']}[{shown}]")  # fmt: skip
            arrays.append(a)
        with self._cond:
            self._inflight += 1
        try:
            if self.batcher is not None and sig_name == DEFAULT_SIGNATURE:
                try:
                    return self.batcher.submit(dict(zip(names, arrays))).result()
                except (ValueError, TypeError) as e:  # e.g. a request over max_batch_size
                    raise RequestError(f"{where}: {e}") from None
            outs = self._runner(sig_name, arrays)
        finally:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()
        return {o["name"]: np.asarray(v) for o, v in zip(sig["outputs"], outs)}

    def enable_batching(self, config: ModelConfig) -> None:
        """Batch concurrent requests to the default signature as ``config`` says (``max_batch_size``,
        ``batch_timeout_micros``, ``max_enqueued_batches``), with ``tessera.serve.batching.Batcher``. Only
        when every input's leading dimension is dynamic; a no-op without ``max_batch_size``."""
        sig = self.signatures.get(DEFAULT_SIGNATURE)
        if not config.max_batch_size or sig is None:
            return
        if not all(s["shape"] and not isinstance(s["shape"][0], int) for s in sig["inputs"]):
            log.warning("model %s version %d: not batching (a leading input dimension is fixed)",
                        self.name, self.version)  # fmt: skip
            return
        from .batching import Batcher

        names = [o["name"] for o in sig["outputs"]]

        def run_batch(inputs):
            outs = self._runner(DEFAULT_SIGNATURE, [inputs[s["name"]] for s in sig["inputs"]])
            return {n: np.asarray(v) for n, v in zip(names, outs)}

        kw = {"max_batch_size": config.max_batch_size}
        if config.batch_timeout_micros is not None:
            kw["batch_timeout_micros"] = config.batch_timeout_micros
        if config.max_enqueued_batches is not None:
            kw["max_enqueued_batches"] = config.max_enqueued_batches
        self.batcher = Batcher(run_batch, num_batch_threads=max(1, min(4, os.cpu_count() or 1)), **kw)

    def close(self) -> None:
        """Stop the batcher (queued requests still run)."""
        if self.batcher is not None:
            self.batcher.close(drain=True, timeout=30)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no request runs on this version (``True``), or ``timeout`` seconds pass."""
        with self._cond:
            return self._cond.wait_for(lambda: self._inflight == 0, timeout)


def _leaves(out) -> list:
    from ..core.tensor import Tensor

    if isinstance(out, Tensor):
        return [out.detach().numpy()]
    if isinstance(out, dict):
        return [x for v in out.values() for x in _leaves(v)]
    if isinstance(out, (tuple, list)):
        return [x for v in out for x in _leaves(v)]
    return [np.asarray(out)]


def _convert(where: str, spec: dict, value) -> np.ndarray:
    npd = _np_dtype(spec["dtype"])
    try:
        a = value if isinstance(value, np.ndarray) else np.asarray(value)
    except ValueError as e:  # ragged lists
        raise RequestError(f"{where}: input {spec['name']!r} is not a rectangular array ({e})") from None
    if a.dtype == object or a.dtype.kind in "USV":
        raise RequestError(f"{where}: input {spec['name']!r} must be {spec['dtype']} numbers, got "
                           f"{'bytes' if a.dtype.kind == 'S' else 'strings or ragged lists'}")  # fmt: skip
    kind = np.dtype(npd).kind
    if kind in "iub" and a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise RequestError(f"{where}: input {spec['name']!r} is {spec['dtype']}, got non-integer values")
    if kind == "b" and a.dtype.kind in "iuf" and not np.all((a == 0) | (a == 1)):
        raise RequestError(f"{where}: input {spec['name']!r} is bool, got values other than 0/1/true/false")
    try:
        return np.ascontiguousarray(a.astype(npd, copy=False))
    except (TypeError, ValueError) as e:
        raise RequestError(
            f"{where}: input {spec['name']!r} cannot be converted to {spec['dtype']}: {e}"
        ) from None


@dataclass
class _Version:
    version: int
    state: str = LOADING
    error: str = ""
    error_code: str = "OK"
    handle: ModelHandle | None = None
    stamp: float = 0.0  # the model file's mtime when it was (tried to be) loaded


class _Model:
    def __init__(self, name: str):
        self.name = name
        self.config = ModelConfig()
        self.config_error = ""
        self.versions: dict[int, _Version] = {}


class ModelRepository:
    """The models under a directory; ``get(name, version=None, label=None)`` returns a ``ModelHandle``.

    ``warmup(handle, request)`` (set by the server) runs one warmup request body on a freshly loaded
    version; ``poll()`` rescans the directory (the server calls it every ``poll_seconds``).

    Example:
        >>> repo = ModelRepository("models")  # doctest: +SKIP
        >>> repo.poll()  # doctest: +SKIP
        >>> repo.get("m").predict({"input": np.ones((1, 4), np.float32)})  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike, *, warmup: Callable | None = None,
                 unload_timeout: float = 60.0):  # fmt: skip
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"ModelRepository: the model repository {str(root)!r} is not a directory")
        self.root = root
        self.warmup = warmup
        self.unload_timeout = unload_timeout
        self._models: dict[str, _Model] = {}
        self._lock = threading.RLock()
        self._poll_lock = threading.Lock()
        self._unloaders: list[threading.Thread] = []

    # -- queries ----------------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """The model names in the repository."""
        with self._lock:
            return sorted(self._models)

    def config(self, name: str) -> ModelConfig:
        """Model ``name``'s config (batching settings for the batcher, labels, policy)."""
        return self._model(name).config

    def _model(self, name: str) -> _Model:
        with self._lock:
            m = self._models.get(name)
        if m is None:
            raise NotFoundError(f"Servable not found for request: model {name!r} is not in the repository")
        return m

    def get(self, name: str, version: int | str | None = None, label: str | None = None) -> ModelHandle:
        """The serving handle of model ``name`` at ``version`` (or the version ``label`` names; default
        the newest available version). Raises ``NotFoundError`` when there is none."""
        m = self._model(name)
        with self._lock:
            if label is not None:
                if label not in m.config.labels:
                    raise NotFoundError(f"model {name!r} has no version label {label!r} "
                                        f"(labels: {', '.join(sorted(m.config.labels)) or 'none'})")  # fmt: skip
                version = m.config.labels[label]
            if version is None:
                live = [v for v in m.versions.values() if v.state == AVAILABLE]
                if not live:
                    raise NotFoundError(f"model {name!r} has no available version")
                return max(live, key=lambda v: v.version).handle
            try:
                version = int(version)
            except (TypeError, ValueError):
                raise NotFoundError(f"model {name!r}: version {version!r} is not an integer") from None
            v = m.versions.get(version)
            if v is None or v.state != AVAILABLE:
                why = f" (state {v.state}{': ' + v.error if v.error else ''})" if v else ""
                raise NotFoundError(f"model {name!r} version {version} is not available{why}")
            return v.handle

    def versions(self, name: str) -> list[str]:
        """Model ``name``'s available versions, newest first."""
        m = self._model(name)
        with self._lock:
            return [str(v) for v in sorted(m.versions, reverse=True) if m.versions[v].state == AVAILABLE]

    def ready(self, name: str, version: int | str | None = None) -> bool:
        """Whether model ``name`` (at ``version``; default: any version) can serve now."""
        try:
            self.get(name, version)
        except NotFoundError:
            return False
        return True

    def status(self, name: str, version: int | str | None = None) -> list[dict]:
        """TF Serving's ``model_version_status`` list for model ``name`` (or one version), newest first."""
        m = self._model(name)
        with self._lock:
            vs = sorted(m.versions.values(), key=lambda v: -v.version)
            if version is not None:
                try:
                    version = int(version)
                except (TypeError, ValueError):
                    raise NotFoundError(f"model {name!r}: version {version!r} is not an integer") from None
                vs = [v for v in vs if v.version == version]
                if not vs:
                    raise NotFoundError(f"model {name!r} has no version {version}")
            out = [
                {"version": str(v.version), "state": v.state,
                 "status": {"error_code": v.error_code, "error_message": v.error}}
                for v in vs
            ]  # fmt: skip
            if not out and m.config_error:
                out = [{"version": "0", "state": END,
                        "status": {"error_code": "INVALID_ARGUMENT", "error_message": m.config_error}}]  # fmt: skip
            if not out:
                raise NotFoundError(f"Could not find any versions of model {name!r} (expected "
                                    f"{self.root / name}/VERSION/model.tessera or model.onnx)")  # fmt: skip
            return out

    # -- loading ----------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Rescan the repository: load new versions (warmed up before they serve), unload the ones the
        policy drops (after their in-flight requests), report failures."""
        with self._poll_lock:
            seen = set()
            for d in sorted(self.root.iterdir()):
                if d.is_dir() and not d.name.startswith("."):
                    seen.add(d.name)
                    self._poll_model(d)
            with self._lock:
                gone = [n for n in self._models if n not in seen]
            for n in gone:
                for v in list(self._models[n].versions.values()):
                    self._unload(self._models[n], v)
                with self._lock:
                    del self._models[n]

    def _poll_model(self, d: Path) -> None:
        with self._lock:
            m = self._models.setdefault(d.name, _Model(d.name))
        cfg_path = d / "config.json"
        if cfg_path.is_file():
            try:
                m.config = parse_config(json.loads(cfg_path.read_text()), str(cfg_path))
                m.config_error = ""
            except (ConfigError, ValueError, OSError) as e:
                m.config_error = str(e)
                log.error("model %s: %s", d.name, e)
                if not m.versions:
                    return
        on_disk = {}
        for v in d.iterdir():
            if v.is_dir() and v.name.isdigit() and int(v.name) > 0:
                f = next((v / n for n in _MODEL_FILES if (v / n).is_file()), None)
                if f is not None:
                    on_disk[int(v.name)] = (v, f.stat().st_mtime)
        wanted = m.config.select(list(on_disk))
        for ver in wanted:
            cur = m.versions.get(ver)
            if cur is not None and cur.stamp == on_disk[ver][1] and not (cur.state == END and not cur.error):
                continue  # loaded, or failed with this very file: do not retry until it changes
            self._load(m, ver, *on_disk[ver])
        ok = [v for v in wanted if m.versions[v].state == AVAILABLE]
        keep = set(ok)
        if m.config.policy[0] == "latest" and len(ok) < m.config.policy[1]:
            # a wanted version failed: keep serving the newest working ones instead
            older = sorted((v.version for v in m.versions.values() if v.state == AVAILABLE and v.version not in keep
                            and v.version in on_disk), reverse=True)  # fmt: skip
            keep.update(older[: m.config.policy[1] - len(ok)])
        for v in list(m.versions.values()):
            if v.state == AVAILABLE and v.version not in keep:
                self._unload(m, v)

    def _load(self, m: _Model, ver: int, path: Path, stamp: float) -> None:
        entry = _Version(ver, LOADING, stamp=stamp)
        with self._lock:
            prev = m.versions.get(ver)
            if prev is None or prev.state != AVAILABLE:
                m.versions[ver] = entry
        t0 = time.perf_counter()
        handle = None
        try:
            handle = ModelHandle.load(m.name, ver, path)
            handle.enable_batching(m.config)
            for k, req in enumerate(m.config.warmup):
                if self.warmup is not None:
                    try:
                        self.warmup(handle, req)
                    except Exception as e:  # noqa: BLE001 - reported as a failed load below
                        raise RuntimeError(f"warmup request {k} failed: {type(e).__name__}: {e}") from e
        except Exception as e:  # noqa: BLE001 - any failure is reported in the status
            if handle is not None:
                handle.close()
            msg = f"{type(e).__name__}: {e}"
            log.error("model %s version %d failed to load: %s", m.name, ver, msg)
            with self._lock:
                if m.versions.get(ver) is entry:
                    entry.state, entry.error, entry.error_code = END, msg, "UNKNOWN"
                else:  # a working copy of this version keeps serving
                    m.versions[ver].error, m.versions[ver].stamp = msg, stamp
            return
        entry.handle = handle
        with self._lock:
            old = m.versions.get(ver)
            entry.state = AVAILABLE
            m.versions[ver] = entry
        if old is not None and old is not entry and old.handle is not None:
            self._drain(old)
        log.info("model %s version %d available (%.3fs)", m.name, ver, time.perf_counter() - t0)

    def _unload(self, m: _Model, v: _Version) -> None:
        with self._lock:
            if v.state != AVAILABLE:
                return
            v.state = UNLOADING  # no new requests reach it from here on
        log.info("model %s version %d unloading", m.name, v.version)
        t = threading.Thread(target=self._drain, args=(v,), name=f"unload-{m.name}-{v.version}", daemon=True)
        self._unloaders.append(t)
        t.start()

    def _drain(self, v: _Version) -> None:
        if v.handle is not None:
            v.handle.wait_idle(self.unload_timeout)
            v.handle.close()
        with self._lock:
            v.state, v.handle = END, None

    def join_unloads(self, timeout: float | None = None) -> None:
        """Wait for versions being unloaded to finish their in-flight requests."""
        for t in list(self._unloaders):
            t.join(timeout)
        self._unloaders = [t for t in self._unloaders if t.is_alive()]
