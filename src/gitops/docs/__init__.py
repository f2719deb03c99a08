"""The generated parts of the docs: the report as GitHub shows it, and blocks kept in step.

`preview` draws a markdown report the way a pull request shows it (a PNG); `blocks` replaces
marker-delimited parts of a hand-written page; `generate` (`make docs`) runs the commands
whose output the docs quote and writes it between the markers.
"""
