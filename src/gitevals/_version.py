"""The version of gitevals, in one place (read by the build and by `gitevals.__version__`)."""

__version__ = "0.1.0"
