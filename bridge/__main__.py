"""``python -m groundbass.bridge ...`` runs the ``groundbass`` command (for
environments without the console script on PATH, and for subprocess tests)."""

from .cli import main

if __name__ == "__main__":
    main()
