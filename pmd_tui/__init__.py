"""pmd-tui: a terminal workstation for maintaining a personalization meta-dataset."""

__version__ = "0.1.0"
