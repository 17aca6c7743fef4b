"""Entry point of the PyInstaller bundle: the ``annotator`` command (the window by default)."""

import multiprocessing
import sys

from annotator.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not start the CLI again
    sys.exit(main())
