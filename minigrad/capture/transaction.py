"""``Snapshot``: the state outside a function that a recording reads or changes, copied.

To check a replay against the eager function (the first replay of each recording, and every call
with ``check=True``), both must start from the same state and end in the same one: the arrays
of the tensors the recording reads (parameters), their ``.grad``, the optimizer state and
hyperparameter dicts, arrays held by reference, the random generators it draws from.
``Snapshot.of(program)`` copies all of them, ``restore`` puts them back (the same objects, their
contents copied back in), and ``difference`` names the first thing two snapshots disagree on,
bit for bit.
"""

from __future__ import annotations

import numpy as np

from .program import Program
from .sources import check_keys, draw, read_data, read_grad, set_grad, set_item


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _put_back(target: np.ndarray, contents: np.ndarray) -> None:
    if target.flags.writeable:
        np.copyto(target, contents)


class Snapshot:
    """Copies of the tensors, dicts and arrays a program touches."""

    def __init__(self, tensors: dict, dicts: dict, arrays: dict, generators: dict | None = None):
        self.generators = {k: (g, g.get_state()) for k, g in (generators or {}).items()}
        self.tensors = {
            key: (t, t.data, t.data.copy(), t.grad, None if t.grad is None else t.grad.data,
                  None if t.grad is None else t.grad.data.copy())
            for key, t in tensors.items()
        }  # fmt: skip
        self.dicts = {
            key: (d, dict(d), {k: _copy(v) for k, v in d.items()}) for key, d in dicts.items()
        }
        self.arrays = {key: (a, a.copy()) for key, a in arrays.items()}

    @classmethod
    def of(cls, program: Program) -> Snapshot:
        tensors, dicts, arrays, generators = {}, {}, {}, {}
        for _, (read, args) in program.externals:
            if read is read_data or read is read_grad:
                tensors[id(args[0])] = args[0]
            elif read is not None and type(args[0]) is dict:  # state and group entries
                dicts[id(args[0])] = args[0]
            elif read is None and isinstance(args[0], np.ndarray):
                arrays[id(args[0])] = args[0]
        for step in program.steps:
            if step.fn is set_grad:
                tensors[id(step.args[0])] = step.args[0]
            elif step.fn is set_item or step.fn is check_keys:
                dicts[id(step.args[0])] = step.args[0]
            elif step.fn is draw:
                generators[id(step.args[0])] = step.args[0]
        return cls(tensors, dicts, arrays, generators)

    def again(self) -> Snapshot:
        """A snapshot of the same things, as they are now."""
        return Snapshot(
            {k: v[0] for k, v in self.tensors.items()},
            {k: v[0] for k, v in self.dicts.items()},
            {k: v[0] for k, v in self.arrays.items()},
            {k: v[0] for k, v in self.generators.items()},
        )

    def restore(self) -> None:
        for t, data, contents, grad, grad_data, grad_contents in self.tensors.values():
            t.data = data
            _put_back(data, contents)
            t.grad = grad
            if grad is not None:
                grad.data = grad_data
                _put_back(grad_data, grad_contents)
        for d, entries, contents in self.dicts.values():
            d.clear()
            d.update(entries)
            for k, v in contents.items():
                if isinstance(v, np.ndarray):
                    _put_back(entries[k], v)
        for a, contents in self.arrays.values():
            _put_back(a, contents)
        for g, state in self.generators.values():
            g.set_state(state)

    def difference(self, other: Snapshot) -> str | None:
        """The first thing ``other`` (taken after a replay) disagrees on with this one."""
        for key, (t, _, contents, grad, _, grad_contents) in self.tensors.items():
            _, _, contents2, grad2, _, grad_contents2 = other.tensors[key]
            name = f"a tensor of shape {t.shape}"
            if not _same_bits(contents, contents2):
                return f"the data of {name}"
            if (grad is None) != (grad2 is None):
                return f"whether {name} has a .grad"
            if grad is not None and not _same_bits(grad_contents, grad_contents2):
                return f"the .grad of {name}"
        for key, (_, _, contents) in self.dicts.items():
            contents2 = other.dicts[key][2]
            if list(contents) != list(contents2):
                return f"the entries of a state dict ({list(contents)} and {list(contents2)})"
            for k, v in contents.items():
                v2 = contents2[k]
                if isinstance(v, np.ndarray) or isinstance(v2, np.ndarray):
                    if not _same_bits(v, v2):
                        return f"the state entry {k!r}"
                elif type(v) in (int, float, bool, str) and v != v2:
                    return f"the state entry {k!r} ({v!r} and {v2!r})"
                elif type(v) not in (int, float, bool, str) and v is not v2:
                    return f"the state entry {k!r} (another object)"
        for key, (_, contents) in self.arrays.items():
            if not _same_bits(contents, other.arrays[key][1]):
                return "an array the function reads by reference"
        for key, (_, state) in self.generators.items():
            if state["bit_generator"] != other.generators[key][1]["bit_generator"]:
                return "the state of a random generator"
        return None


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
