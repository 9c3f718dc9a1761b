"""minigrad.memory: freed arrays are reused by malloc instead of coming back as fresh pages.

Page faults are counted in a fresh interpreter: in this one, earlier tests leave free holes in
the heap that an allocation may reuse whatever the setting.
"""

import os
import platform
import subprocess
import sys

import pytest

import minigrad as mg
from minigrad import memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")

# Allocate, fill and free a 2 MiB array (below numpy's 4 MiB huge-page size) five times; print
# the page faults of the last four rounds and the setting minigrad made.
COUNT = """
import resource
import numpy as np
import minigrad
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.empty(2 << 20, np.uint8)
    a.fill(1)
    del a
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[1:]), minigrad.memory.kept)
"""


def faults_and_setting(environment_value):
    env = {k: v for k, v in os.environ.items() if k != memory.ENVIRONMENT}
    if environment_value is not None:
        env[memory.ENVIRONMENT] = environment_value
    run = subprocess.run([sys.executable, "-c", COUNT], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    faults, kept = map(int, run.stdout.split())
    return faults, kept


@glibc
def test_after_the_import_a_freed_array_comes_back_without_page_faults():
    pages = (2 << 20) // os.sysconf("SC_PAGE_SIZE")
    faults, kept = faults_and_setting(None)
    assert kept == memory.DEFAULT
    assert faults < pages // 8
    # Opted out, glibc's own behaviour: the array comes back as fresh pages at least once.
    faults, kept = faults_and_setting("0")
    assert kept == 0
    assert faults > pages // 2
    faults, kept = faults_and_setting("16")  # MiB
    assert kept == 16 << 20 and faults < pages // 8


@glibc
def test_keep_freed_changes_the_setting_at_run_time():
    try:
        assert memory.keep_freed(0) and memory.kept == 0
        assert memory.keep_freed(8 << 20) and memory.kept == 8 << 20
    finally:
        memory.keep_freed(memory.DEFAULT)


@pytest.mark.parametrize("bad", [-1, 1.5, "64M", True, None])
def test_keep_freed_refuses_what_is_not_a_number_of_bytes(bad):
    with pytest.raises(ValueError, match=r"keep_freed\(nbytes\) takes a number of bytes"):
        memory.keep_freed(bad)


def test_a_malformed_environment_variable_is_named(monkeypatch):
    monkeypatch.setenv(memory.ENVIRONMENT, "nonsense")
    with pytest.raises(ValueError, match="MINIGRAD_KEEP_FREED_MEMORY='nonsense'.*MiB"):
        memory.keep_freed_from_environment()


def test_the_module_is_reachable_from_the_package():
    assert mg.memory is memory
