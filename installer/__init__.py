"""What `python install.py` runs: the AI-Sketcher add-ons installed for this user, stdlib only.

One file per concern: `report.py` (what was done, errors for people), `paths.py` (where each
host keeps its files), `package.py` (the one add-on folder builder, with its vendored packages,
and the shared put/remove of an installed folder), `kritarc.py` (Krita's settings file),
`krita.py` and `blender.py` (each host), `cli.py` (the command line).
"""
