"""Entry point of the PyInstaller bundle: the ``annotator`` command (the window by default)."""

import multiprocessing

from annotator.cli import run

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not start the CLI again
    run()
