"""AVS Annotator: pixel masks of sounding objects in long, untrimmed videos."""

__version__ = "0.1.0"
