"""``python -m annotator …`` is the ``annotator`` command (for a checkout that is not installed,
or a Python whose scripts folder is not on the PATH)."""

from annotator.cli import run

if __name__ == "__main__":
    run()
