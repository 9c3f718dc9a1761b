import pathlib
import sys

# Let test modules import the shared harness (tests/harness.py) by name.
sys.path.insert(0, str(pathlib.Path(__file__).parent))
