"""Tensor's random methods: in-place fills (``x.normal_()``, ``x.uniform_(a, b)``) and draws
that take their probabilities from the tensor (``p.multinomial(n)``, ``p.bernoulli()``)."""

from __future__ import annotations

from .namespace import mg


class RandomMethods:
    """``x.normal_()``, ``x.uniform_(a, b)``, ``p.multinomial(n)``, ... (a mixin of ``Tensor``).

    The fills are in-place updates: refused for a tensor that requires grad while grad mode is
    on (do them under ``mg.no_grad()``, as ``nn.init`` does)."""

    __slots__ = ()

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        """``mg.normal_``: fill with normal samples of mean ``mean`` and std ``std``, in place."""
        return mg.normal_(self, mean, std, generator=generator)

    def uniform_(self, low: float = 0.0, high: float = 1.0, *, generator=None, **bounds):
        """``mg.uniform_``: fill with samples uniform in [low, high), in place (PyTorch's
        ``from``/``to`` keywords are accepted too)."""
        return mg.uniform_(self, low, high, generator=generator, **bounds)

    def bernoulli_(self, p: float = 0.5, *, generator=None):
        """``mg.bernoulli_``: fill with 0 or 1 (1 with probability ``p``), in place."""
        return mg.bernoulli_(self, p, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        """``mg.bernoulli``: 1 with probability given by each element (or ``p``), else 0."""
        return mg.bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples: int, replacement: bool = False, *, generator=None):
        """``mg.multinomial``: category indices drawn with this tensor's rows as weights."""
        return mg.multinomial(self, num_samples, replacement, generator=generator)
