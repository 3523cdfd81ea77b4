"""``SummaryWriter``: PyTorch's TensorBoard writer API on the ``tensorboard`` package's event-file writer."""

from __future__ import annotations

import os
import time

__all__ = ["SummaryWriter", "FileWriter"]


def _require_tensorboard():
    try:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError(
            "ts.tensorboard.SummaryWriter needs the 'tensorboard' package (TensorFlow is not required): "
            "pip install tessera[tensorboard]   (or: pip install tensorboard)"
        ) from e
    return event_pb2, EventFileWriter


class FileWriter:
    """Writes ``Event`` protos to one event file in ``log_dir`` (asynchronously, through tensorboard's
    ``EventFileWriter``)."""

    def __init__(self, log_dir, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = ""):
        self._event_pb2, EventFileWriter = _require_tensorboard()
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs, filename_suffix)

    def get_logdir(self) -> str:
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None) -> None:
        event.wall_time = time.time() if walltime is None else float(walltime)
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(self, summary, global_step=None, walltime=None) -> None:
        self.add_event(self._event_pb2.Event(summary=summary), global_step, walltime)

    def add_graph(self, graph_def, walltime=None) -> None:
        self.add_event(self._event_pb2.Event(graph_def=graph_def.SerializeToString()), None, walltime)

    def flush(self) -> None:
        self.event_writer.flush()

    def close(self) -> None:
        self.event_writer.close()


def _check_tag(tag, what: str) -> str:
    if not isinstance(tag, str):
        raise TypeError(f"{what}: tag must be a str, got {type(tag).__name__}")
    return tag


def _check_step(step, what: str):
    if step is None:
        return None
    try:
        return int(step)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: global_step must be an int, got {step!r}") from None


class SummaryWriter:
    """Writes TensorBoard event files (``events.out.tfevents.*``), with PyTorch's ``SummaryWriter`` API.

    ``log_dir`` defaults to ``runs/<Mon DD_HH-MM-SS>_<hostname><comment>``. Events are queued and written
    by a background thread every ``flush_secs`` or once ``max_queue`` events are pending; ``flush()`` and
    ``close()`` (or leaving a ``with`` block) write everything out.

    Example:
        >>> with ts.tensorboard.SummaryWriter("runs/demo") as w:  # doctest: +SKIP
        ...     w.add_scalar("loss", 0.5, global_step=1)
        ...     w.add_histogram("weights", model.fc.weight, global_step=1)
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: float = 120,
        filename_suffix: str = "",
    ):
        _require_tensorboard()
        if not log_dir:
            import socket
            from datetime import datetime

            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] | None = None
        self._get_file_writer()

    def _get_file_writer(self) -> FileWriter:
        """The default writer, recreated (as a new event file) if the writer was closed."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                from tensorboard.compat.proto.event_pb2 import Event, SessionLog

                step = self.purge_step
                self.file_writer.add_event(Event(step=step, file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=step, session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        """The directory the event files are written to."""
        return self.log_dir

    # -- data -------------------------------------------------------------------------------------------
    def add_scalar(
        self,
        tag: str,
        scalar_value,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Log one number (a Python number or a one-element tensor/array) under ``tag``.

        Example:
            >>> writer.add_scalar("train/loss", loss.item(), step)  # doctest: +SKIP
        """
        from . import summary

        _check_tag(tag, "add_scalar")
        step = _check_step(global_step, "add_scalar")
        s = summary.scalar(tag, scalar_value, new_style=new_style, double_precision=double_precision)
        self._get_file_writer().add_summary(s, step, walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Log several related numbers on one chart. As in PyTorch, each key gets its own run directory
        ``<log_dir>/<main_tag>_<key>`` and the values are logged under ``main_tag``.

        Example:
            >>> writer.add_scalars("loss", {"train": 0.5, "val": 0.7}, step)  # doctest: +SKIP
        """
        from . import summary

        _check_tag(main_tag, "add_scalars")
        if not isinstance(tag_scalar_dict, dict):
            raise TypeError(
                f"add_scalars: tag_scalar_dict must be a dict, got {type(tag_scalar_dict).__name__}"
            )
        step = _check_step(global_step, "add_scalars")
        walltime = time.time() if walltime is None else walltime
        protos = {tag: summary.scalar(main_tag, v) for tag, v in tag_scalar_dict.items()}  # validate first
        fw_logdir = self._get_file_writer().get_logdir()
        for tag, proto in protos.items():
            fw_tag = fw_logdir + "/" + main_tag.replace("/", "_") + "_" + str(tag)
            fw = self.all_writers.get(fw_tag)
            if fw is None:
                fw = FileWriter(fw_tag, self.max_queue, self.flush_secs, self.filename_suffix)
                self.all_writers[fw_tag] = fw
            fw.add_summary(proto, step, walltime)

    def add_histogram(
        self,
        tag: str,
        values,
        global_step: int | None = None,
        bins="tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """Log a histogram of ``values`` (any shape). ``bins``: ``'tensorflow'`` (TensorFlow's default
        exponential buckets), a bin count, a NumPy method name (``'auto'``, ``'fd'``...) or bin edges.

        Example:
            >>> writer.add_histogram("fc.weight", model.fc.weight, step)  # doctest: +SKIP
        """
        from . import summary

        _check_tag(tag, "add_histogram")
        step = _check_step(global_step, "add_histogram")
        s = summary.histogram(tag, values, bins, max_bins=max_bins)
        self._get_file_writer().add_summary(s, step, walltime)

    def add_image(
        self,
        tag: str,
        img_tensor,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """Log an image: a float tensor in [0, 1] or a uint8 tensor in [0, 255], laid out as
        ``dataformats`` (``'CHW'``, ``'HWC'`` or ``'HW'``) with 1, 3 or 4 channels. Stored as PNG.

        Example:
            >>> writer.add_image("sample", ts.rand(3, 32, 32), step)  # doctest: +SKIP
        """
        from . import summary

        _check_tag(tag, "add_image")
        step = _check_step(global_step, "add_image")
        s = summary.image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(s, step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """Log a batch of images (``'NCHW'``, ``'NHWC'`` or ``'NHW'``) tiled into one grid image, 8 per row.

        Example:
            >>> writer.add_images("batch", ts.rand(16, 3, 28, 28), step)  # doctest: +SKIP
        """
        from . import summary

        _check_tag(tag, "add_images")
        step = _check_step(global_step, "add_images")
        s = summary.images(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(s, step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None, walltime=None) -> None:
        """Log a (Markdown) string, shown in TensorBoard's Text tab.

        Example:
            >>> writer.add_text("notes", "lr **0.1**, batch 64", 0)  # doctest: +SKIP
        """
        from . import summary

        _check_tag(tag, "add_text")
        step = _check_step(global_step, "add_text")
        self._get_file_writer().add_summary(summary.text(tag, text_string), step, walltime)

    def add_graph(
        self, model, input_to_model=None, verbose: bool = False, use_strict_trace: bool = True
    ) -> None:
        """Log the op graph of one forward pass of ``model`` on ``input_to_model`` (a tensor or a tuple of
        tensors): one node per op, scoped by module, with the inputs, parameters and output shapes.

        Example:
            >>> writer.add_graph(model, ts.randn(1, 10))  # doctest: +SKIP
        """
        from ._graph import trace_graph

        graph = trace_graph(model, input_to_model, verbose=verbose)
        self._get_file_writer().add_graph(graph)

    def add_hparams(
        self,
        hparam_dict: dict,
        metric_dict: dict,
        hparam_domain_discrete: dict | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """Log a set of hyperparameters and the metrics they reached (TensorBoard's HParams tab). As in
        PyTorch, they go to a sub-run ``<log_dir>/<run_name>`` (default: the current time) together with
        each metric as a scalar.

        Example:
            >>> writer.add_hparams({"lr": 0.1, "bsize": 32}, {"hparam/accuracy": 0.97})  # doctest: +SKIP
        """
        from . import summary

        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError(
                f"add_hparams: hparam_dict and metric_dict must be dicts, got {type(hparam_dict).__name__} "
                f"and {type(metric_dict).__name__}"
            )
        step = _check_step(global_step, "add_hparams")
        exp, ssi, sei = summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        metrics = {k: summary.scalar(k, v) for k, v in metric_dict.items()}  # validate before writing
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=logdir) as w_hp:
            fw = w_hp._get_file_writer()
            fw.add_summary(exp, step)
            fw.add_summary(ssi, step)
            fw.add_summary(sei, step)
            for s in metrics.values():
                fw.add_summary(s, step)

    # -- lifetime ---------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write all pending events to disk."""
        if self.all_writers is None:
            return
        for w in self.all_writers.values():
            w.flush()

    def close(self) -> None:
        """Flush and close every event file (a later ``add_*`` starts a new event file)."""
        if self.all_writers is None:
            return
        for w in self.all_writers.values():
            w.flush()
            w.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SummaryWriter(log_dir={self.log_dir!r})"
