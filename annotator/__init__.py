"""AVS Annotator: pixel masks of sounding objects in long, untrimmed videos."""

__version__ = "0.1.0"  # the one place: pyproject reads it, `annotator --version` prints it
