"""Developer tools: tools/dev.py (set-up, demo, tests) and the Argos package build."""
