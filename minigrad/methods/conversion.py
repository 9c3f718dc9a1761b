"""Tensor's conversions as methods: dtypes and devices."""

from __future__ import annotations


class ConversionMethods:
    """``x.float()``, ``x.to(dtype)``, ... (a mixin of ``Tensor``)."""

    __slots__ = ()
