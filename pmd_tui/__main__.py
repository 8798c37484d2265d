"""``python -m pmd_tui``: the same command as ``pmd-tui``."""

from pmd_tui.cli import main

if __name__ == "__main__":
    main()
