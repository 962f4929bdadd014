"""Only the optional C extension; everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

# Optional: without a C compiler the install goes on and the analyser uses its numpy code (docs/analysis.md, "Cost").
setup(ext_modules=[Extension("bot.analysis._speedups", ["bot/analysis/_speedups.c"], optional=True)])
