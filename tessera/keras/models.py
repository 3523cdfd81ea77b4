"""Keras models: ``Sequential``, the functional ``Model(inputs, outputs)`` and subclassed ``Model`` with
``call()``; ``model_from_config``/``model_from_json``; ``load_model`` (from ``tessera.keras.saving``).

Models are ``ts.nn.Module``s (and Keras ``Layer``s, so they nest): ``model(x)`` runs the forward pass and
``parameters()``/``state_dict()`` work as for any module. ``Sequential`` and functional models register
their layers under their positions (``"0"``, ``"1"``...), like ``nn.Sequential``, so two models of the same
architecture have the same ``state_dict`` keys whatever their layers' names; subclassed models use the
attribute names. Training (``compile``/``fit``/``evaluate``/``predict``) comes from the ``Trainer`` mixin.
"""

from __future__ import annotations

import inspect
import json

import numpy as np

from ..core import creation
from ..core import dtypes as _dt
from ..core.tensor import Tensor
from ..nn.module import Module
from .layers import base as _base
from .layers.base import (
    InputLayer,
    KerasTensor,
    Layer,
    Node,
    _call_accepts,
    _jsonable_shape,
    _meta_tensor,
    _shape_from_json,
    _Symbolic,
    flatten,
    map_structure,
)
from .saving import load_model  # noqa: F401
from .training import Trainer

__all__ = [
    "Model",
    "Sequential",
    "clone_model",
    "model_from_config",
    "model_from_json",
    "load_model",
    "save_model",
]


def _meta_for(shape, dtype=None):
    """Placeholder meta tensors (shape and dtype only) for a (batch-included) shape, unknown dimensions
    set to 1."""
    if isinstance(shape, list):
        return [_meta_for(s, dtype) for s in shape]
    return _meta_tensor([1 if d is None else d for d in shape], dtype or _dt.get_default_dtype())


def _out_shape_str(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_out_shape_str(s) for s in shape) + "]"
    return str(tuple(shape))


class Model(Trainer, Layer):
    """A Keras model. Three ways to make one:

    - functional: ``Model(inputs, outputs)`` from ``Input`` tensors and the layers called on them (several
      inputs and outputs, shared layers and nested models are fine);
    - subclassing: override ``call(inputs, training=None)`` (``forward`` runs it), creating layers in
      ``__init__`` after ``super().__init__()``;
    - ``Sequential([...])``.

    Example:
        >>> inputs = ts.keras.Input(shape=(10,))
        >>> x = ts.keras.layers.Dense(20, activation="relu")(inputs)
        >>> outputs = ts.keras.layers.Dense(1)(x)
        >>> model = ts.keras.Model(inputs, outputs)
        >>> model(ts.randn(4, 10)).shape
        tessera.Size([4, 1])
    """

    _autocast = False

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", None)
        outputs = kwargs.pop("outputs", None)
        if args:
            if len(args) > 2 or inputs is not None:
                raise TypeError("Model: expected Model(inputs, outputs, name=None)")
            inputs = args[0]
            if len(args) == 2:
                if outputs is not None:
                    raise TypeError("Model: outputs given twice")
                outputs = args[1]
        super().__init__(**kwargs)
        if "__init__" in vars(Trainer):
            Trainer.__init__(self)
        d = self.__dict__
        d["_is_graph"] = False
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model: a functional model needs both inputs and outputs")
            self._init_graph(inputs, outputs)

    # -- functional graph ---------------------------------------------------------------------------------
    def _init_graph(self, inputs, outputs) -> None:
        in_list = flatten(inputs)
        out_list = flatten(outputs)
        for kind, lst in (("inputs", in_list), ("outputs", out_list)):
            if not lst or any(not isinstance(t, KerasTensor) for t in lst):
                bad = [type(t).__name__ for t in lst if not isinstance(t, KerasTensor)]
                raise TypeError(
                    f"Model '{self.name}': all {kind} must be symbolic KerasTensors (from ts.keras.Input and layer "
                    f"calls), got {bad or 'nothing'}"
                )
        for kt in in_list:
            if not isinstance(kt.node.layer, InputLayer):
                raise ValueError(
                    f"Model '{self.name}': inputs must come from ts.keras.Input(), got {kt} produced by layer "
                    f"'{kt.node.layer.name}'"
                )
        input_ids = {id(kt) for kt in in_list}
        # depth-first post-order from the outputs: every node after the nodes it depends on
        order, visited = [], set()
        stack = [(kt.node, False) for kt in reversed(out_list) if id(kt) not in input_ids]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for kt in reversed(node.inputs):
                if id(kt) in input_ids:
                    continue
                if isinstance(kt.node.layer, InputLayer):
                    raise ValueError(
                        f"Model '{self.name}': graph disconnected: cannot obtain value for tensor {kt} at layer "
                        f"'{node.layer.name}'; the input '{kt.node.layer.name}' is not in the model's inputs"
                    )
                stack.append((kt.node, False))
        layers, seen = [], set()
        for kt in in_list:
            if id(kt.node.layer) not in seen:
                seen.add(id(kt.node.layer))
                layers.append(kt.node.layer)
        layer_nodes: dict = {}
        for node in order:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
            layer_nodes.setdefault(id(node.layer), []).append(node)
        names = [layer.name for layer in layers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(
                f"Model '{self.name}': layer names must be unique in a model, got duplicates {dup}"
            )
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)
        d = self.__dict__
        d["_is_graph"] = True
        d["_input_struct"] = inputs
        d["_output_struct"] = outputs
        d["_inputs"] = in_list
        d["_outputs"] = out_list
        d["_nodes"] = order
        d["_layer_nodes"] = layer_nodes
        d["built"] = True
        shapes = [kt.shape for kt in in_list]
        d["_build_input_shape"] = shapes[0] if len(shapes) == 1 else shapes

    @property
    def inputs(self) -> list:
        return list(self._inputs) if self._is_graph else None

    @property
    def outputs(self) -> list:
        return list(self._outputs) if self._is_graph else None

    # Keras's model-level views of the graph ends (a Sequential's come from its ``inputs``/``outputs``)
    @property
    def input_shape(self):
        ins = self.inputs
        if not ins:
            raise AttributeError(f"Model '{self.name}' has no defined input shape (it has no Input)")
        return ins[0].shape if len(ins) == 1 else [kt.shape for kt in ins]

    @property
    def output_shape(self):
        outs = self.outputs
        if not outs:
            return super().output_shape
        return outs[0].shape if len(outs) == 1 else [kt.shape for kt in outs]

    @property
    def input_names(self) -> list:
        return [kt.node.layer.name for kt in self._inputs] if self._is_graph else []

    @property
    def output_names(self) -> list:
        return [kt.node.layer.name for kt in self._outputs] if self._is_graph else []

    @property
    def output(self):
        if self._is_graph:
            return self._output_struct
        outs = self.outputs
        if outs:
            return outs[0] if len(outs) == 1 else list(outs)
        return super().output

    @property
    def input(self):
        if self._is_graph:
            return self._input_struct
        ins = self.inputs
        if ins:
            return ins[0] if len(ins) == 1 else list(ins)
        return super().input

    def extra_repr(self) -> str:
        return f"name={self.name!r}"

    def _node_index(self, node: Node) -> int:
        if isinstance(node.layer, InputLayer):
            return 0
        return self._layer_nodes[id(node.layer)].index(node)

    def _feed(self, inputs) -> list:
        """The model's inputs as a list matching ``self._inputs`` (from a tensor, list, tuple or dict)."""
        n = len(self._inputs)
        if isinstance(inputs, dict):
            missing = [name for name in self.input_names if name not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}': missing inputs {missing} (expected {self.input_names})"
                )
            values = [inputs[name] for name in self.input_names]
        elif isinstance(inputs, (list, tuple)) and (n > 1 or len(inputs) == 1):
            values = list(inputs)
        else:
            values = [inputs]
        if len(values) != n:
            raise ValueError(
                f"Model '{self.name}': expected {n} input(s) {self.input_names}, got {len(values)}"
            )
        out = []
        for kt, v in zip(self._inputs, values):
            if kt.dtype is _base.STRING:
                if isinstance(v, Tensor) or (isinstance(v, np.ndarray) and v.dtype.kind not in "USO"):
                    raise TypeError(
                        f"Model '{self.name}': input '{kt.node.layer.name}' has dtype string, got an array of "
                        f"dtype {v.dtype}"
                    )
            elif isinstance(v, np.ndarray):
                v = creation.as_tensor(v)
            if isinstance(v, Tensor):
                shape = tuple(v.shape)
                if len(shape) != len(kt.shape) or any(
                    a is not None and a != b for a, b in zip(kt.shape, shape)
                ):
                    raise ValueError(
                        f"Model '{self.name}': input '{kt.node.layer.name}' expects shape {kt.shape}, got a tensor "
                        f"of shape {shape}"
                    )
                if v.dtype is not kt.dtype and v.dtype.is_floating_point and kt.dtype.is_floating_point:
                    v = v.to(kt.dtype)
            out.append(v)
        return out

    def _run_graph(self, inputs, training=None, mask=None):
        fed = self._feed(inputs)
        if mask is not None:
            # the masks ride on the input tensors, so each layer call picks them up as Keras does
            for v, m in zip(fed, flatten(mask) if isinstance(mask, (list, tuple)) else [mask]):
                if m is not None and isinstance(v, Tensor):
                    _base.set_keras_mask(v, m)
        values = {id(kt): v for kt, v in zip(self._inputs, fed)}

        def get(v):
            return values[id(v)] if isinstance(v, KerasTensor) else v

        for node in self._nodes:
            args = map_structure(get, node.args)
            kwargs = map_structure(get, node.kwargs) if node.kwargs else {}
            if training is not None and _call_accepts(node.layer, "training"):
                kwargs["training"] = training
            out = node.layer(*args, **kwargs)
            for kt, o in zip(flatten(node.outputs), flatten(out)):
                if isinstance(kt, KerasTensor):
                    values[id(kt)] = o
        return map_structure(get, self._output_struct)

    def call(self, inputs, training=None, mask=None):
        if self._is_graph:
            return self._run_graph(inputs, training, mask)
        raise NotImplementedError(
            f"Model {type(self).__name__}: subclassed models must implement call(inputs, training=None)"
        )

    # -- building -----------------------------------------------------------------------------------------
    def _do_build(self, shapes) -> None:
        if type(self).build is Model.build:
            # subclassed model: its layers build themselves during this first call
            d = self.__dict__
            d["built"] = True
            d["_build_input_shape"] = shapes
            return
        super()._do_build(shapes)

    def build(self, input_shape=None) -> None:
        """Build the weights by running the model once on zeros of ``input_shape`` (batch dimension
        included, None allowed); a list of shapes for several inputs."""
        if self._is_graph:
            return
        if input_shape is None:
            raise ValueError(f"Model '{self.name}': build() needs an input_shape")
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)):
            shape = [tuple(s) for s in input_shape]
        else:
            shape = tuple(input_shape)
        d = self.__dict__
        d["built"] = True
        d["_build_input_shape"] = shape
        try:
            with _Symbolic(self):
                self.forward(_meta_for(shape, self._dtype))
        except Exception:
            d["built"] = False
            raise

    def get_build_config(self) -> dict | None:
        if not self.built or self._build_input_shape is None:
            return None
        return {"input_shape": _jsonable_shape(self._build_input_shape)}

    def build_from_config(self, config: dict | None) -> None:
        if config and config.get("input_shape") is not None and not (self.built and self._all_built()):
            self.build(_shape_from_json(config["input_shape"]))

    def _all_built(self) -> bool:
        return all(m.built for m in self.modules() if isinstance(m, Layer))

    # -- layers -------------------------------------------------------------------------------------------
    @property
    def layers(self) -> list:
        """The model's layers (functional models include their ``InputLayer``s first)."""
        return [m for m in self._modules.values() if m is not None]

    def get_layer(self, name: str | None = None, index: int | None = None):
        """The layer called ``name`` (or at position ``index``)."""
        if index is not None and name is not None:
            raise ValueError("get_layer: provide only one of name and index")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"get_layer: index {index} is out of range for a model with {len(layers)} layers"
                )
            return layers[index]
        if name is None:
            raise ValueError("get_layer: provide a name or an index")
        for layer in layers:
            if getattr(layer, "name", None) == name:
                return layer
        raise ValueError(
            f"No such layer: {name}. Existing layers are: {[getattr(m, 'name', type(m).__name__) for m in layers]}"
        )

    # -- summary ------------------------------------------------------------------------------------------
    def _layer_output_shape(self, layer):
        if self._is_graph:
            nodes = (
                self._layer_nodes.get(id(layer))
                if not isinstance(layer, InputLayer)
                else layer._inbound_nodes[:1]
            )
            if nodes and len(nodes) == 1:
                outs = nodes[0].flat_outputs
                return outs[0].shape if len(outs) == 1 else [o.shape for o in outs]
            return "multiple"
        if isinstance(layer, Layer) and layer._last_out_shape is not None:
            return layer._last_out_shape
        return "multiple"

    def _is_chain(self) -> bool:
        if not self._is_graph:
            return True
        if len(self._inputs) != 1 or len(self._outputs) != 1:
            return False
        for node in self._nodes:
            if len(node.inputs) != 1 or len(self._layer_nodes[id(node.layer)]) != 1:
                return False
        return True

    def summary(
        self,
        line_length=None,
        positions=None,
        print_fn=None,
        expand_nested=False,
        show_trainable=False,
        layer_range=None,
    ) -> None:
        """Print a Keras-style table of the layers (name and type, output shape, parameter count; plus the
        inbound layers for non-sequential functional models) and the total/trainable/non-trainable
        parameter counts. ``print_fn(line)`` receives each line (default ``print``)."""
        if not self.built:
            raise ValueError(
                f"Model '{self.name}' has not yet been built. Build the model first by calling `build()` or by "
                "calling the model on a batch of data."
            )
        print_fn = print_fn or print
        chain = self._is_chain()
        if chain:
            line_length = line_length or 65
            positions = positions or [0.45, 0.85, 1.0]
            headers = ["Layer (type)", "Output Shape", "Param #"]
        else:
            line_length = line_length or 98
            positions = positions or [0.33, 0.55, 0.67, 1.0]
            headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        if positions[-1] <= 1:
            positions = [int(line_length * p) for p in positions]

        def row(fields):
            line = ""
            for i, f in enumerate(fields):
                if i > 0:
                    line = line[:-1] + " "
                line += str(f)
                line = line[: positions[i]]
                line += " " * (positions[i] - len(line))
            print_fn(line.rstrip() if not line.strip() else line)

        print_fn(f'Model: "{self.name}"')
        print_fn("_" * line_length)
        row([" " + headers[0]] + headers[1:])
        print_fn("=" * line_length)
        layers = self.layers
        names = dict(self._modules.items())
        inv = {id(m): k for k, m in names.items()}
        for i, layer in enumerate(layers):
            if isinstance(layer, Layer):
                lname = layer.name
                params = layer.count_params() if layer.built else 0
            else:
                lname = inv.get(id(layer), "?")
                params = sum(int(np.prod(p.shape)) for p in layer.parameters())
            fields = [
                f" {lname} ({type(layer).__name__})",
                _out_shape_str(self._layer_output_shape(layer)),
                params,
            ]
            connections = []
            if not chain:
                for node in self._layer_nodes.get(id(layer), []):
                    for kt in node.inputs:
                        connections.append(f"{kt.node.layer.name}[{self._node_index(kt.node)}][{kt.index}]")
                fields.append(connections[0] if connections else "[]")
            row(fields)
            for c in connections[1:]:
                row(["", "", "", c])
            if i < len(layers) - 1:
                print_fn("")
        print_fn("=" * line_length)
        weights = self.weights
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        total = sum(int(np.prod(w.shape)) for w in weights)
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")
        print_fn("_" * line_length)

    # -- config -------------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        if not self._is_graph:
            return {"name": self.name, "trainable": self.trainable}
        from .layers import serialize

        def enc(v):
            if isinstance(v, KerasTensor):
                return {"__keras_tensor__": [v.node.layer.name, self._node_index(v.node), v.index]}
            if isinstance(v, Tensor):
                raise ValueError(
                    f"Model '{self.name}': cannot serialize a constant tensor passed to a layer call in the graph"
                )
            return v

        layer_configs = []
        for layer in self.layers:
            inbound = []
            for node in self._layer_nodes.get(id(layer), []):
                inbound.append(
                    {"args": list(map_structure(enc, node.args)), "kwargs": map_structure(enc, node.kwargs)}
                )
            cfg = serialize(layer)
            cfg["name"] = layer.name
            cfg["inbound_nodes"] = inbound
            layer_configs.append(cfg)

        def ref(struct):
            return map_structure(lambda kt: [kt.node.layer.name, self._node_index(kt.node), kt.index], struct)

        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layer_configs,
            "input_layers": ref(self._input_struct),
            "output_layers": ref(self._output_struct),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        if "layers" in config and "input_layers" in config:
            return _functional_from_config(cls, config, custom_objects)
        try:
            params = inspect.signature(cls.__init__).parameters
        except (TypeError, ValueError):
            return cls(**config)
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return cls(**config)
        return cls(**{k: v for k, v in config.items() if k in params})

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON (``model_from_json`` rebuilds it)."""
        from .layers import serialize

        return json.dumps(serialize(self), **kwargs)

    # -- saving -------------------------------------------------------------------------------------------
    def save(self, filepath, overwrite: bool = True, **kwargs):
        """Save architecture, weights and optimizer state (``tessera.keras.saving.save_model``)."""
        from .saving import save_model

        return save_model(self, filepath, overwrite=overwrite, **kwargs)

    def export(self, filepath, format: str = "tessera", verbose: bool = True, input_signature=None, **kwargs):
        """Write an inference artifact (``ts.export``; conventionally ``model.tessera``) that runs without
        this model's code: ``ts.export.load(filepath)(x)``. ``input_signature``: InputSpec-like specs
        (``None`` dimensions become dynamic) or example arrays; default: the model's ``inputs``.

        Example:
            >>> model.export("model.tessera")  # doctest: +SKIP
        """
        from ..export._keras import export_model

        export_model(
            self, filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs
        )

    def save_weights(self, filepath, overwrite: bool = True, **kwargs):
        """Save the weights (``state_dict``) to ``filepath`` as safetensors."""
        from . import saving

        fn = getattr(saving, "save_weights", None)
        if fn is not None:
            return fn(self, filepath, overwrite=overwrite, **kwargs)
        import os

        from ..serialization import save

        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False")
        save(dict(self.state_dict()), filepath)

    def load_weights(self, filepath, **kwargs):
        """Load weights saved by ``save_weights`` (the model must be built with the same architecture)."""
        from . import saving

        fn = getattr(saving, "load_weights", None)
        if fn is not None:
            return fn(self, filepath, **kwargs)
        from ..serialization import load

        self.load_state_dict(load(filepath))


def _functional_from_config(cls, config: dict, custom_objects=None):
    from .layers import deserialize

    created: dict = {}  # layer name -> list of output structures, one per processed node
    layers, pending = {}, []
    for ld in config["layers"]:
        layer = deserialize({"class_name": ld["class_name"], "config": ld["config"]}, custom_objects)
        name = ld.get("name", layer.name)
        layers[name] = layer
        if isinstance(layer, InputLayer):
            created[name] = [layer.output]
        else:
            created[name] = []
            pending.extend((name, i, nd) for i, nd in enumerate(ld.get("inbound_nodes", [])))

    def ready(v):
        if isinstance(v, dict) and "__keras_tensor__" in v:
            lname, ni, _ = v["__keras_tensor__"]
            return ni < len(created.get(lname, ()))
        if isinstance(v, (list, tuple)):
            return all(ready(x) for x in v)
        if isinstance(v, dict):
            return all(ready(x) for x in v.values())
        return True

    def resolve(v):
        if isinstance(v, dict) and "__keras_tensor__" in v:
            lname, ni, ti = v["__keras_tensor__"]
            outs = [o for o in flatten(created[lname][ni]) if isinstance(o, KerasTensor)]
            return outs[ti]
        if isinstance(v, list):
            return [resolve(x) for x in v]
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        return v

    while pending:
        progress = False
        rest = []
        for name, i, nd in pending:
            if i == len(created[name]) and ready(nd.get("args", [])) and ready(nd.get("kwargs", {})):
                args = tuple(resolve(a) for a in nd.get("args", []))
                kwargs = resolve(nd.get("kwargs", {}))
                created[name].append(layers[name](*args, **kwargs))
                progress = True
            else:
                rest.append((name, i, nd))
        if not progress:
            stuck = sorted({n for n, *_ in rest})
            raise ValueError(
                f"model_from_config: cannot rebuild the graph; unresolved nodes of layers {stuck}"
            )
        pending = rest

    def ref(v):
        if isinstance(v, list) and len(v) == 3 and isinstance(v[0], str):
            return resolve({"__keras_tensor__": v})
        return [ref(x) for x in v]

    inputs, outputs = ref(config["input_layers"]), ref(config["output_layers"])
    kwargs = {"name": config.get("name"), "trainable": config.get("trainable", True)}
    return Model(inputs, outputs, **kwargs) if cls is Sequential else cls(inputs, outputs, **kwargs)


class Sequential(Model):
    """A linear stack of layers: ``Sequential([Dense(20, input_shape=(10,)), ReLU(), Dense(1)])``.

    With an input shape (``input_shape=`` on the first layer, an ``Input`` first, or ``build(shape)``) the
    weights and output shapes are created at once; otherwise on the first call. ``add(layer)`` appends,
    ``pop()`` removes the last layer.

    Example:
        >>> from tessera.keras.layers import Dense, ReLU
        >>> model = ts.keras.Sequential([Dense(20, input_shape=(10,)), ReLU(), Dense(1)])
        >>> model.count_params()
        241
    """

    def __init__(self, layers=None, name: str | None = None, trainable: bool = True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        d = self.__dict__
        d["_seq_input"] = None
        d["_seq_outputs"] = []
        if layers is not None:
            if isinstance(layers, Module):
                layers = [layers]
            for layer in layers:
                self.add(layer)

    @property
    def layers(self) -> list:
        return [m for m in self._modules.values() if m is not None]

    def add(self, layer) -> None:
        """Append a layer (an ``Input`` tensor / ``InputLayer`` first sets the input shape)."""
        if isinstance(layer, KerasTensor):
            if not isinstance(layer.node.layer, InputLayer):
                raise TypeError("Sequential.add: only an Input() tensor or a Layer can be added")
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._modules or self._seq_input is not None:
                raise ValueError(f"Sequential '{self.name}': an Input must be the first thing added")
            self.__dict__["_seq_input"] = layer.output
            return
        if not isinstance(layer, Module):
            raise TypeError(
                f"Sequential '{self.name}': the added layer must be a Layer (or nn.Module), got "
                f"{type(layer).__name__}: {layer!r}"
            )
        if isinstance(layer, Layer) and any(getattr(m, "name", None) == layer.name for m in self.layers):
            raise ValueError(
                f"Sequential '{self.name}': all layers must have unique names; '{layer.name}' is already in the model"
            )
        if not self._modules and self._seq_input is None and isinstance(layer, Layer):
            shape = layer._batch_input_shape
            if shape is not None:
                self.__dict__["_seq_input"] = _base.Input(batch_shape=shape, dtype=layer._dtype)
        self.add_module(str(len(self._modules)), layer)
        if self._seq_input is not None:
            prev = self._seq_outputs[-1] if self._seq_outputs else self._seq_input
            try:
                with _base.name_scope(self):
                    self._seq_outputs.append(_symbolic_apply(layer, prev))
            except Exception:
                self._forget(str(len(self._modules) - 1))
                raise
            d = self.__dict__
            d["built"] = True
            d["_build_input_shape"] = self._seq_input.shape

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._modules:
            raise TypeError(f"Sequential '{self.name}': there are no layers to pop")
        key = list(self._modules)[-1]
        layer = self._modules[key]
        self._forget(key)
        if self._seq_outputs:
            self._seq_outputs.pop()
        return layer

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._modules.values():
            kwargs = {}
            if training is not None and isinstance(layer, Layer) and _call_accepts(layer, "training"):
                kwargs["training"] = training
            if mask is not None and isinstance(layer, Layer) and "mask" in _base._call_arg_names(layer):
                kwargs["mask"] = mask
            x = layer(x, **kwargs)
            # later layers take their masks from the tensors (Layer.__call__ reads x._keras_mask)
            mask = None
        return x

    def _do_build(self, shapes) -> None:
        if isinstance(shapes, tuple):
            self.build((None,) + tuple(shapes[1:]))
        else:
            super()._do_build(shapes)

    def build(self, input_shape=None) -> None:
        if input_shape is None:
            if self._seq_input is None:
                raise ValueError(f"Sequential '{self.name}': build() needs an input_shape")
            input_shape = self._seq_input.shape
        input_shape = tuple(input_shape)
        dtype = self._seq_input.dtype if self._seq_input is not None else None
        kt = _base.Input(batch_shape=input_shape, dtype=dtype)
        outs = []
        x = kt
        with _base.name_scope(self):  # the layers' weights get "<model>/<layer>/<weight>" paths, as in Keras
            for layer in self.layers:
                x = _symbolic_apply(layer, x)
                outs.append(x)
        d = self.__dict__
        d["_seq_input"] = kt
        d["_seq_outputs"] = outs
        d["built"] = True
        d["_build_input_shape"] = input_shape

    def _layer_output_shape(self, layer):
        for m, kt in zip(self.layers, self._seq_outputs):
            if m is layer:
                return kt.shape if isinstance(kt, KerasTensor) else [o.shape for o in flatten(kt)]
        return super()._layer_output_shape(layer)

    @property
    def inputs(self):
        return [self._seq_input] if self._seq_input is not None else None

    @property
    def outputs(self):
        return [self._seq_outputs[-1]] if self._seq_outputs else None

    def get_config(self) -> dict:
        from .layers import serialize

        cfg = {"name": self.name, "trainable": self.trainable, "layers": [serialize(m) for m in self.layers]}
        if self.built and self._build_input_shape is not None:
            cfg["build_input_shape"] = _jsonable_shape(self._build_input_shape)
        return cfg

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from .layers import deserialize

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for lc in config.get("layers", []):
            model.add(deserialize(lc, custom_objects))
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            model.build(_shape_from_json(shape))
        return model


def _symbolic_apply(layer, x):
    """Call a Keras layer on a KerasTensor; a plain ``nn.Module`` is run symbolically (on meta tensors) to
    infer the output shape (it records no node, which ``Sequential`` does not need)."""
    if isinstance(layer, Layer):
        return layer(x)
    node = Node(layer, (x,), {}, [x])
    with _Symbolic(layer):
        out = layer(_meta_for(x.shape, x.dtype))
    shape = tuple(out.shape)
    if x.shape and x.shape[0] is None and shape:
        shape = (None,) + shape[1:]
    kt = KerasTensor(shape, out.dtype, node, 0, type(layer).__name__.lower())
    node.outputs, node.flat_outputs = kt, [kt]
    return kt


def model_from_config(config: dict, custom_objects: dict | None = None) -> Model:
    """Rebuild a model (architecture only, fresh weights) from ``serialize(model)`` / ``model.get_config()``
    wrapped as ``{"class_name": ..., "config": ...}``.

    Example:
        >>> from tessera.keras.layers import Dense, serialize
        >>> m = ts.keras.Sequential([Dense(2, input_shape=(3,))])
        >>> model_from_config(serialize(m)).count_params()
        8
    """
    from .layers import deserialize

    return deserialize(config, custom_objects)


def model_from_json(json_string: str, custom_objects: dict | None = None) -> Model:
    """``model_from_config(json.loads(json_string))``."""
    return model_from_config(json.loads(json_string), custom_objects)


def save_model(model, filepath, overwrite: bool = True, **kwargs) -> None:
    """Save a model to a ``.keras`` archive (``keras.saving.save_model``).

    Example:
        >>> ts.keras.models.save_model(model, "model.keras")  # doctest: +SKIP
    """
    from .saving import save_model as _save

    _save(model, filepath, overwrite=overwrite, **kwargs)


def _default_clone(layer):
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive: bool = False,
                **kwargs):  # fmt: skip
    """A new model with the same architecture and freshly initialized weights (Keras's ``clone_model``).
    ``clone_function(layer)`` makes each new layer (default: from its config); ``call_function(layer, *args,
    **kwargs)`` replaces calling it; ``input_tensors`` feed the clone; with ``recursive``, nested models are
    cloned with the same functions. Subclassed models are rebuilt from their config.

    Example:
        >>> m = ts.keras.Sequential([ts.keras.Input((3,)), ts.keras.layers.Dense(2)])
        >>> c = ts.keras.models.clone_model(m)
        >>> c.layers[0] is m.layers[0], tuple(c.output_shape)
        (False, (None, 2))
    """
    if kwargs:
        raise TypeError(f"clone_model: unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    if not isinstance(model, Model):
        raise ValueError(f"clone_model: expected a keras Model instance, got {type(model).__name__}")
    if clone_function is not None and not callable(clone_function):
        raise ValueError(f"clone_model: clone_function must be callable, got {clone_function!r}")
    clone = clone_function or _default_clone

    def clone_layer(layer):
        if recursive and isinstance(layer, Model):
            return clone_model(
                layer, clone_function=clone_function, call_function=call_function, recursive=True
            )
        return clone(layer)

    if isinstance(model, Sequential):
        layers = [clone_layer(layer) for layer in model.layers]
        if input_tensors is not None:
            first = input_tensors[0] if isinstance(input_tensors, (list, tuple)) else input_tensors
            if not isinstance(first, KerasTensor):
                raise ValueError(
                    f"clone_model: input_tensors must be KerasTensors (keras.Input), got {first!r}"
                )
            layers = [first] + layers
        elif model._seq_input is not None:
            layers = [_base.Input(batch_shape=model._seq_input.shape, dtype=model._seq_input.dtype)] + layers
        if call_function is None:
            return Sequential(layers, name=model.name, trainable=model.trainable)
        x = layers[0] if isinstance(layers[0], KerasTensor) else None
        if x is None:
            raise ValueError("clone_model: call_function needs a Sequential model with a known input shape")
        inputs = x
        for layer in layers[1:]:
            x = call_function(layer, x)
        return Model(inputs, x, name=model.name)
    if not getattr(model, "_is_graph", False):
        try:
            return type(model).from_config(model.get_config())
        except (NotImplementedError, TypeError) as e:
            raise ValueError(
                f"clone_model: the subclassed model {type(model).__name__} cannot be cloned: {e}. Implement "
                "get_config() and from_config()."
            ) from None
    old_inputs = list(model._inputs)
    if input_tensors is None:
        new_inputs = [
            _base.Input(batch_shape=kt.shape, dtype=kt.dtype, name=kt.node.layer.name) for kt in old_inputs
        ]
    else:
        new_inputs = list(input_tensors) if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        if len(new_inputs) != len(old_inputs) or not all(isinstance(t, KerasTensor) for t in new_inputs):
            raise ValueError(
                f"clone_model: input_tensors must be {len(old_inputs)} KerasTensor(s) (keras.Input), got "
                f"{input_tensors!r}"
            )
    values = {id(old): new for old, new in zip(old_inputs, new_inputs)}
    cloned: dict = {}

    def swap(v):
        return values[id(v)] if isinstance(v, KerasTensor) else v

    for node in model._nodes:
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        new_layer = cloned.get(id(layer))
        if new_layer is None:
            new_layer = cloned[id(layer)] = clone_layer(layer)
        args = map_structure(swap, node.args)
        kw = map_structure(swap, node.kwargs)
        out = call_function(new_layer, *args, **kw) if call_function is not None else new_layer(*args, **kw)
        for old, new in zip(node.flat_outputs, flatten(out)):
            values[id(old)] = new
    outputs = map_structure(swap, model._output_struct)
    inputs = map_structure(swap, model._input_struct) if input_tensors is None else (
        new_inputs if len(new_inputs) > 1 else new_inputs[0]
    )  # fmt: skip
    return Model(inputs, outputs, name=model.name)
