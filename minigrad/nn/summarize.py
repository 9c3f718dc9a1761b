"""``summary(model, input_shape)``: a model's layers as a table, with the shape each one outputs
and the parameters it holds, like torchinfo's ``summary(model, input_size=...)``.

One forward pass runs on an input of ``input_shape`` (batch axis included) under ``no_grad``,
with a forward pre-hook and a forward hook on every module (``module_hooks.py``) recording, in
call order, what each module got and gave. The model comes back as it was, even when the
forward raises: training flags, hooks and the default generator's state are restored, the
forward updates copies of the buffers (never the model's own), and nothing is recorded for
backward.

A row is one module, however many times it was called (a cell run over 32 time steps is one row
with 32 calls, where torchinfo prints 32 rows); it is indented by how deep in the calls it ran
(``depth``: 0 for the model, 1 for what its forward calls, ...). Its parameters are its own
plus those of its sub-modules that ran no forward of their own (``MultiheadAttention``'s
``out_proj``, whose weights it uses directly), each parameter counted once, in the row that
reached it first (a weight tied between an embedding and an output layer is counted in the
embedding's row, and the other row says it shares it). Rows below ``depth`` fold into the row
above them, so the rows' parameters always add up to the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .. import dtypes as _dtypes
from .. import random
from ..autodiff import no_grad
from ..errors import DTypeError, MinigradError, OpError, ShapeError
from ..functions.operands import alias
from ..tensor import Tensor
from .labels import layer_label
from .module import Module
from .summary_format import expected_input, shape_text, table_html, table_text

__all__ = ["Row", "Summary", "summary"]


@dataclass
class Row:
    """One module of a summary."""

    path: str  # dotted path in the model, as named_modules gives it ("" for the model)
    label: str  # layer_label(module): "Conv2d(1→16, 3×3)"
    depth: int  # 0 for the model, 1 for the modules its forward calls, ...
    output_shape: tuple | None = None  # of the first call; nested tuples for tuple outputs
    params: int = 0  # numbers in the parameters this row counts (see the module's docstring)
    trainable_params: int = 0  # of which require grad
    shared_params: int = 0  # numbers in parameters it uses that an earlier row counted
    calls: int = 0  # forward calls during the summary (0 without a forward pass)
    module: Module | None = field(default=None, repr=False, compare=False)
    parent: int | None = field(default=None, repr=False)  # index of the row that called it

    @property
    def trainable(self) -> bool | str | None:
        """True or False when all its parameters are trainable or none is, "partial" when some
        are, None when it counts none (torchinfo's True/False/Partial/--)."""
        if not self.params:
            return None
        if self.trainable_params in (0, self.params):
            return self.trainable_params == self.params
        return "partial"


class Summary:
    """What ``summary`` found: ``rows`` (the modules down to ``depth``), the parameter counts
    and the memory the input, the output and the parameters take. ``print`` it for a table;
    Jupyter shows an HTML table."""

    def __init__(self, model: Module, rows: list[Row], depth: int, inputs: tuple, output):
        self.model, self.depth = model, depth
        self.rows = _shown(rows, depth)
        params = list(model.parameters())
        self.total_params = sum(p.numel() for p in params)
        self.trainable_params = sum(p.numel() for p in params if p.requires_grad)
        self.non_trainable_params = self.total_params - self.trainable_params
        self.param_bytes = sum(p.data.nbytes for p in params)
        self.buffer_bytes = sum(b.data.nbytes for b in model.buffers())
        self.input_shapes = tuple(_shape(x) for x in inputs)
        self.output_shape = _shape(output)
        self.input_bytes = sum(_nbytes(x) for x in inputs)
        self.output_bytes = _nbytes(output)
        self.forward_pass = bool(rows) and rows[0].calls > 0

    def __str__(self) -> str:
        return table_text(self)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return table_html(self)


def summary(model: Module, input_shape=None, *, input_data=None, dtypes=None, depth: int = 3,
            mode: str = "eval", input_size=None, **forward_kwargs) -> Summary:  # fmt: skip
    """The layers of ``model`` as a table (``print`` it), with each one's output shape and
    parameter count, after one forward pass; like torchinfo's ``summary``.

    ``input_shape``: the shape of the model's input, batch axis first (``(1, 1, 8, 8)`` for
    one 8x8 image), or a list of shapes for a model with several inputs; ``input_size=`` is
    torchinfo's name for it. ``dtypes``: the inputs' dtype, or one per input (integer inputs,
    such as token ids for an ``Embedding``, are zeros; floating ones standard normal draws from
    a generator of their own); by default the dtype of the model's parameters. Or give
    ``input_data=``, a Tensor or array, a tuple of them (several inputs) or a dict (keyword
    inputs). Other keyword arguments go to ``forward``. ``depth``: the deepest calls shown (3
    as torchinfo); the rows below fold into the row above. ``mode``: "eval" (the default, as
    torchinfo: Dropout keeps everything and BatchNorm uses its running statistics), "train" or
    "same" (each module's flag as it is). Without ``input_shape`` and ``input_data``, no
    forward runs: the rows are the modules of the model's tree with their own parameters.

    The model is left as it was (see the module's docstring). A forward that fails raises the
    same kind of error, naming the module that failed, the shape it got and the input it takes.

    >>> import minigrad as mg
    >>> model = mg.nn.Sequential(mg.nn.Linear(4, 8), mg.nn.ReLU(), mg.nn.Linear(8, 2))
    >>> s = mg.nn.summary(model, (16, 4))
    >>> s.total_params, s.rows[1].output_shape, s.rows[1].params
    (58, (16, 8), 40)
    """
    input_shape = alias("summary", "input_shape", input_shape, "input_size", input_size)
    if not isinstance(model, Module):
        raise DTypeError(f"summary: model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(depth, int | np.integer) or depth < 0:
        raise OpError(f"summary: depth must be an int >= 0, got {depth!r}")
    if mode not in ("eval", "train", "same"):
        raise OpError(f"summary: mode must be 'eval', 'train' or 'same', got {mode!r}")
    if input_shape is None and input_data is None:
        return Summary(model, _tree_rows(model), depth, (), None)
    if input_shape is not None and input_data is not None:
        raise OpError("summary: give input_shape or input_data, not both")
    if input_data is None:
        args, kwargs = _made_inputs(model, input_shape, dtypes), {}
    elif isinstance(input_data, dict):
        args, kwargs = (), dict(input_data)
    else:
        args = tuple(input_data) if isinstance(input_data, tuple | list) else (input_data,)
        kwargs = {}
    recorder = _Recorder(model)
    output = recorder.run(args, {**kwargs, **forward_kwargs}, mode)
    _count_params(recorder.rows)
    return Summary(model, recorder.rows, depth, (*args, *kwargs.values()), output)


# ----- inputs ------------------------------------------------------------------------------------


def _made_inputs(model: Module, input_shape, dtypes) -> tuple:
    """One Tensor per shape in ``input_shape``: zeros for integer and bool dtypes, standard
    normal draws (from a generator of its own, so minigrad's stays as it was) for the others."""
    several = isinstance(input_shape, Sequence) and any(
        isinstance(s, Sequence) for s in input_shape
    )
    shapes = list(input_shape) if several else [input_shape]
    for shape in shapes:
        if not isinstance(shape, Sequence) or not all(
            isinstance(n, int | np.integer) and n >= 0 for n in shape
        ):
            raise ShapeError(
                f"summary: input_shape={input_shape!r}; give the input's shape, batch axis "
                f"first, as a tuple of sizes (e.g. (1, 1, 8, 8)), or a list of such tuples for a "
                f"model with several inputs"
            )
    if dtypes is None or isinstance(dtypes, str) or not isinstance(dtypes, Sequence):
        dtypes = [dtypes] * len(shapes)
    if len(dtypes) != len(shapes):
        raise OpError(
            f"summary: {len(dtypes)} dtypes for {len(shapes)} input shapes; give one dtype per "
            f"input (or one for all)"
        )
    floating = next((p.dtype for p in model.parameters() if p.dtype.kind == "f"), None)
    source = np.random.default_rng(0)
    made = []
    for shape, dtype in zip(shapes, dtypes):
        dtype = _dtypes.resolve("summary", dtype) or floating or _dtypes.get_default_dtype()
        if dtype.kind in "fc":
            data = source.standard_normal(tuple(shape)).astype(dtype)
        else:
            data = np.zeros(tuple(shape), dtype)
        made.append(Tensor(data))
    return tuple(made)


def _shape(value):
    """A Tensor's or an array's shape; nested tuples for tuples and lists; None otherwise."""
    if isinstance(value, Tensor | np.ndarray):
        return tuple(value.shape)
    if isinstance(value, tuple | list):
        return tuple(_shape(v) for v in value)
    return None


def _nbytes(value) -> int:
    if isinstance(value, Tensor | np.ndarray):
        return value.data.nbytes
    if isinstance(value, tuple | list):
        return sum(_nbytes(v) for v in value)
    return 0


# ----- the forward pass --------------------------------------------------------------------------


class _Recorder:
    """Hooks on every module of a model, recording a Row per module in call order."""

    def __init__(self, model: Module):
        self.model = model
        self.paths = {id(m): path for path, m in model.named_modules()}
        self.modules = [m for _, m in model.named_modules()]
        self.rows: list[Row] = []
        self.index: dict[int, int] = {}  # id(module) -> its row
        self.stack: list[tuple[Module, tuple]] = []  # (module, its inputs) running now

    def before(self, module, args):
        row = self.index.get(id(module))
        if row is None:
            parent = self.index[id(self.stack[-1][0])] if self.stack else None
            row = self.index[id(module)] = len(self.rows)
            self.rows.append(Row(self.paths[id(module)], layer_label(module), len(self.stack),
                                 module=module, parent=parent))  # fmt: skip
        self.rows[row].calls += 1
        self.stack.append((module, args))

    def after(self, module, args, output):
        while self.stack and self.stack.pop()[0] is not module:
            pass  # a module below raised and its caller went on: it is done too
        row = self.rows[self.index[id(module)]]
        if row.calls == 1:
            row.output_shape = _shape(output)

    def run(self, args: tuple, kwargs: dict, mode: str):
        """``model(*args, **kwargs)`` with the hooks, under no_grad, then the model restored."""
        model = self.model
        training = [(m, m.training) for m in self.modules]
        had_hooks = [(m, "_module_hooks" in vars(m)) for m in self.modules]
        generator = random.get_rng_state()
        handles, buffers = [], []
        try:
            _swap_buffers(model, buffers)
            for m in self.modules:
                handles.append(m.register_forward_pre_hook(self.before))
                handles.append(m.register_forward_hook(self.after))
            if mode != "same":
                model.train(mode == "train")
            with no_grad():
                return model(*args, **kwargs)
        except Exception as e:
            raise self._failure(e) from e
        finally:
            for handle in handles:
                handle.remove()
            for m, had in had_hooks:
                if not had:
                    vars(m).pop("_module_hooks", None)  # as before: no hook table at all
            for m, flag in training:
                m.training = flag
            for m, name, buffer in buffers:
                object.__setattr__(m, name, buffer)
            random.set_rng_state(generator)

    def _failure(self, error: Exception) -> Exception:
        """``error`` again, of its kind, with what failed where and what the model takes."""
        if not self.stack:
            return error
        module, args = self.stack[-1]
        path = self.paths[id(module)]
        where = f"{path}: {layer_label(module)}" if path else "the model's own forward"
        got = ", ".join(shape_text(_shape(a)) for a in args if _shape(a) is not None)
        takes = expected_input(module)
        message = (
            f"summary({layer_label(self.model)}): the forward pass failed in {where}, which got "
            f"input of shape {got or 'none'}" + (f" and takes {takes}" if takes else "")
            + f": {error}. input_shape= is the shape of the model's input, batch axis first"
        )  # fmt: skip
        first = next((r for r in self.rows if expected_input(r.module)), None)
        if first is not None and first.module is not module:
            message += f"; its first layer, {first.path}: {first.label}, takes "
            message += expected_input(first.module)
        if first is not None:
            example = expected_input(first.module, example=True)
            message += f" (e.g. {example})" if example else ""
        try:
            return type(error)(message)
        except Exception:  # an exception class that takes other arguments
            return MinigradError(message)


def _swap_buffers(model: Module, saved: list) -> None:
    """Give each buffer a copy for the forward to update (BatchNorm's running statistics in
    train mode), so the model's own buffer Tensors are never touched (values, version counters);
    (module, name, buffer) to put back go into ``saved`` as they are swapped."""
    for _, m in model.named_modules():
        for name in m._buffers:
            buffer = getattr(m, name, None)
            if isinstance(buffer, Tensor):
                saved.append((m, name, buffer))
                object.__setattr__(m, name, Tensor(np.array(buffer.data, copy=True)))


# ----- rows --------------------------------------------------------------------------------------


def _count_params(rows: list[Row]) -> None:
    """Each row's parameters: its module's own and those of sub-modules that have no row (ran
    no forward), each parameter in the first row that reaches it."""
    has_row = {id(r.module) for r in rows}
    counted: set[int] = set()
    for row in rows:
        stack, seen = [row.module], set()
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            for _, p in m.named_parameters(recurse=False):
                n = p.numel()
                if id(p) in counted:
                    row.shared_params += n
                    continue
                counted.add(id(p))
                row.params += n
                row.trainable_params += n if p.requires_grad else 0
            stack.extend(c for c in m.children() if id(c) not in has_row)


def _tree_rows(model: Module) -> list[Row]:
    """Without a forward pass: a row per module of the tree, with its own parameters."""
    rows, index = [], {}
    for path, m in model.named_modules():
        parent = index.get(path.rpartition(".")[0]) if path else None
        index[path] = len(rows)
        depth = path.count(".") + 1 if path else 0
        rows.append(Row(path, layer_label(m), depth, module=m, parent=parent))
    _count_params(rows)
    return rows


def _shown(rows: list[Row], depth: int) -> list[Row]:
    """The rows down to ``depth``, each with the parameters of the rows below it that are not
    shown; ``parent`` then indexes the shown rows."""
    shown, position = [], {}
    for i, row in enumerate(rows):
        if row.depth <= depth:
            position[i] = len(shown)
            parent = None if row.parent is None else position.get(row.parent)
            shown.append(replace(row, parent=parent))
    for row in rows:
        if row.depth > depth:
            above = row.parent
            while above not in position:
                above = rows[above].parent
            target = shown[position[above]]
            target.params += row.params
            target.trainable_params += row.trainable_params
            target.shared_params += row.shared_params
    return shown
