"""Longest test modules first, so parallel workers finish together (a pytest plugin).

pytest-xdist (`--dist loadscope --no-loadscope-reorder`, the Makefile) hands each worker one
whole module at a time, in collection order. When the longest modules start first, the short
ones fill the end and no worker is left running alone (longest-processing-time first). Each
module's seconds (setup, call and teardown of its tests) are kept in pytest's cache after a
run; a module not timed yet goes first when it is marked slow and last otherwise. Only the
order changes: every test still runs, with its module's tests together and in file order.
"""

from __future__ import annotations

import pytest

CACHE_KEY = "churn/module-seconds"


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def sort_key(item: pytest.Item, seconds: dict[str, float]) -> tuple[int, float]:
    known = seconds.get(module_of(item.nodeid))
    if known is not None:
        return (1, -known)
    return (0, 0.0) if item.get_closest_marker("slow") else (2, 0.0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seconds = config.cache.get(CACHE_KEY, {}) if config.cache is not None else {}
    items.sort(key=lambda item: sort_key(item, seconds))  # stable: file order within a module


class ModuleClock:
    """Sums each module's test durations as reported, and keeps them for the next run."""

    def __init__(self, cache: pytest.Cache) -> None:
        self.cache = cache
        self.spent: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        module = module_of(report.nodeid)
        self.spent[module] = self.spent.get(module, 0.0) + report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.spent:
            kept = self.cache.get(CACHE_KEY, {})
            kept.update({m: round(s, 2) for m, s in self.spent.items()})
            self.cache.set(CACHE_KEY, kept)


def pytest_configure(config: pytest.Config) -> None:
    # Under xdist the controller sees every worker's reports; the workers keep nothing.
    if config.cache is not None and not hasattr(config, "workerinput"):
        config.pluginmanager.register(ModuleClock(config.cache), "module-clock")
