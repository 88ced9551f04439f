"""Shared pytest fixtures for rnnbench's Python tests.

`error_table` collects the worst numerical error a test saw, keyed by a short label, and the
terminal summary prints the table at the end of the run, so `make test` shows how close the C
gradients came to the reference and not only that they passed.

Example:
    /usr/bin/python3 -m pytest -q tests
"""
import pytest

_ERROR_TABLE_KEY = pytest.StashKey[dict]()


def pytest_configure(config):
    """The `serial` marker: tests `make test-py` runs after the parallel pass, in one process."""
    config.addinivalue_line("markers", "serial: run alone, after the parallel tests (Makefile test-py)")


@pytest.fixture
def error_table(request):
    """Return the run's dict label -> (worst error, tolerance, where); keep the largest error."""
    return request.config.stash.setdefault(_ERROR_TABLE_KEY, {})


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the worst errors that tests recorded through `error_table`, one line per label."""
    table = config.stash.get(_ERROR_TABLE_KEY, {})
    if not table:
        return
    terminalreporter.section("worst numerical errors (error / tolerance, where)")
    for label in sorted(table):
        err, tol, where = table[label]
        terminalreporter.write_line(f"{label:<40} {err:.3e} / {tol:.0e}  {where}")
