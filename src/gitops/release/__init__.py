"""Releases: decide the version from what changed, build the wheel, tag it in the GTO registry."""
