"""What ``draw`` returns: a ``graphviz.Digraph`` that also displays itself in Jupyter, as SVG,
and shows its DOT source with a clear message there when Graphviz's ``dot`` is missing."""

from __future__ import annotations

import functools

INSTALL_DOT = (
    "Graphviz's `dot` program is needed to render (the Python package only writes DOT "
    "source): install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install "
    "graphviz` (macOS) or `conda install -c conda-forge graphviz`"
)


def new_drawing(**attributes):
    """An empty drawing (a ``Drawing``, the ``graphviz.Digraph`` subclass)."""
    return drawing_class()("minigrad", **attributes)


@functools.cache
def drawing_class() -> type:
    """``Drawing``, made on first use so that importing minigrad does not import graphviz."""
    import graphviz

    failures = (graphviz.ExecutableNotFound, graphviz.CalledProcessError)

    class Drawing(graphviz.Digraph):
        """A ``graphviz.Digraph`` that Jupyter displays inline: ``_repr_svg_`` and
        ``_repr_mimebundle_`` give the SVG that ``dot`` lays out, or, without ``dot`` (or
        when it fails), no picture but a message and the DOT source instead of an error."""

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            try:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            except failures as error:
                return {"text/plain": self.not_shown(error)}

        def _repr_svg_(self) -> str | None:
            try:
                return self.pipe(format="svg", encoding="utf-8")
            except failures:
                return None  # Jupyter then shows the next form it has (the text)

        def not_shown(self, error) -> str:
            """Why there is no picture, and the DOT source."""
            if isinstance(error, graphviz.ExecutableNotFound):
                why = f"mg.viz: no picture: {INSTALL_DOT}."
            else:
                stderr = (error.stderr or b"").decode(errors="replace").strip()
                why = f"mg.viz: no picture: dot failed: {stderr}"
            return f"{why} The DOT source:\n{self.source}"

    Drawing.__module__ = __name__
    return Drawing
