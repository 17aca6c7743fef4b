"""PySide6 desktop application. Holds no annotation state of its own."""
