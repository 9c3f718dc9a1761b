"""``Slot`` and ``Step``: a recording's arrays by number, and its numpy calls."""

from __future__ import annotations

from ..trees import leaves


class Slot:
    """An array's place in a recording."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n

    def __repr__(self):
        return f"Slot({self.n})"


class Step:
    """``results = fn(*args, **kwargs)`` with slots for arrays."""

    __slots__ = ("fn", "args", "kwargs", "results", "writes", "kind", "as_array")

    def __init__(self, fn, args, kwargs, results, writes=False, kind="numpy", as_array=False):
        self.fn, self.args, self.kwargs, self.results = fn, args, kwargs, results
        self.as_array = as_array  # a numpy scalar result made a 0-d array, as recorded
        self.writes = writes
        # "numpy"; "outside" (numpy writing into an input's or an outside array's memory);
        # "python" (arithmetic on recorded numbers, no effect); "guard" (a check of what was
        # read, which may move to the start); "check" (one that stays where it was read);
        # "effect" (a write outside the arrays: a .grad, a state entry)
        self.kind = kind

    def slots(self):
        """The slots the call reads."""
        return list(slots_in((self.args, self.kwargs)))


def slots_in(x):
    """The slots in an argument (nested tuples, lists and dicts)."""
    return (leaf.n for leaf in leaves(x) if type(leaf) is Slot)


def result_slots(results) -> list[int]:
    """The slots a step's results go to."""
    if results is None:
        return []
    if type(results) is int:
        return [results]
    return [n for r in results for n in result_slots(r)]
