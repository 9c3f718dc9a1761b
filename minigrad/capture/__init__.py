"""Capture and replay (``mg.compile``): record a function's numpy work once, replay it.

- ``compiled.py``: ``compile``, the guards and the recordings kept by form of the arguments;
- ``recorder.py``: one recorded run, numpy call by numpy call;
- ``program.py``: the recording as a flat list of calls, and its replay;
- ``traced.py``: the ndarray subclass through which numpy tells the recorder what it does.
"""

from .compiled import Compiled, CompileWarning, compile
from .program import CompileError

__all__ = ["CompileError", "CompileWarning", "Compiled", "compile"]
