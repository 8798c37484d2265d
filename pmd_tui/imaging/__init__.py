"""Image facts shared by intake, checks, previews and publishing."""
