"""``keras.utils.plot_model`` / ``model_to_dot``: a model's layer graph as a Graphviz drawing, through
``pydot`` (and the Graphviz ``dot`` program for image formats), which are optional: without them these
functions raise an ImportError that says what to install."""

from __future__ import annotations

import os

__all__ = ["model_to_dot", "plot_model"]

_NEED = (
    "You must install pydot (`pip install pydot`) and install graphviz "
    "(see instructions at https://graphviz.gitlab.io/download/) for `{}` to work."
)


def _pydot(who: str):
    try:
        import pydot
    except ImportError:
        raise ImportError(_NEED.format(who)) from None
    return pydot


def _shape_text(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return str(tuple(shape)) if shape is not None and not isinstance(shape, str) else str(shape)


def _label(model, layer, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable):
    cls = type(layer).__name__
    title = f"{layer.name} ({cls})" if show_layer_names else cls
    rows = [title]
    act = getattr(layer, "activation", None)
    if show_layer_activations and act is not None:
        rows.append(f"Activation: {getattr(act, '__name__', str(act))}")
    if show_shapes:
        out = model._layer_output_shape(layer) if hasattr(model, "_layer_output_shape") else "multiple"
        rows.append(f"Output shape: {_shape_text(out)}")
    if show_dtype:
        rows.append(f"Output dtype: {getattr(layer, 'compute_dtype', None) or getattr(layer, 'dtype', '?')}")
    if show_trainable:
        rows.append(f"Trainable: {'T' if getattr(layer, 'trainable', True) else 'F'}")
    return "\n".join(rows)


def model_to_dot(
    model,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    subgraph: bool = False,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    **kwargs,
):
    """The model's layers and connections as a ``pydot.Dot`` graph (one node per layer, an edge per
    connection; a Sequential model is a chain).

    Example:
        >>> dot = model_to_dot(model, show_shapes=True)  # doctest: +SKIP
        >>> dot.write("model.dot", format="raw")  # doctest: +SKIP
    """
    from ..models import Model

    if not isinstance(model, Model):
        raise TypeError(f"model_to_dot: expected a keras Model, got {type(model).__name__}")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f'model_to_dot: rankdir must be "TB" or "LR", got {rankdir!r}')
    if not model.built and not getattr(model, "_is_graph", False):
        raise ValueError(
            "model_to_dot: this model has not yet been built. Build the model first by calling `build()` or "
            "by calling the model on a batch of data."
        )
    pydot = _pydot("model_to_dot")
    dot = pydot.Cluster(style="dashed", graph_name=model.name) if subgraph else pydot.Dot()
    dot.set("rankdir", rankdir)
    dot.set("concentrate", True)
    dot.set("dpi", dpi)
    dot.set("splines", kwargs.get("splines", "ortho"))
    dot.set_node_defaults(shape="record")
    layers = model.layers
    for layer in layers:
        text = _label(model, layer, show_shapes, show_dtype, show_layer_names, show_layer_activations,
                      show_trainable)  # fmt: skip
        dot.add_node(pydot.Node(str(id(layer)), label=text))
    if getattr(model, "_is_graph", False):
        for node in model._nodes:
            for kt in node.inputs:
                src = kt.node.layer if kt.node is not None else None
                if src is not None:
                    dot.add_edge(pydot.Edge(str(id(src)), str(id(node.layer))))
    else:
        for a, b in zip(layers, layers[1:]):
            dot.add_edge(pydot.Edge(str(id(a)), str(id(b))))
    return dot


def plot_model(
    model,
    to_file: str = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = False,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    **kwargs,
):
    """Draw the model's graph to ``to_file`` (format from its extension: ``.dot`` is written by pydot alone,
    ``.png``/``.svg``/``.pdf``... need Graphviz). Returns the file name.

    Example:
        >>> plot_model(model, to_file="model.dot", show_shapes=True)  # doctest: +SKIP
        'model.dot'
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable,
                       **kwargs)  # fmt: skip
    ext = os.path.splitext(str(to_file))[1].lower().lstrip(".") or "png"
    fmt = "raw" if ext in ("dot", "gv") else ext
    try:
        dot.write(str(to_file), format=fmt)
    except FileNotFoundError:
        raise ImportError(
            _NEED.format("plot_model") + f" (the Graphviz program is needed for .{ext})"
        ) from None
    return str(to_file)
