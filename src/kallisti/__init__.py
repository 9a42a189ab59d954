"""Kallisti: a self-hosted chaos-engineering control plane."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kallisti")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
