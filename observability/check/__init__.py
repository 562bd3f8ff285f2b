"""Check layer (PURE): lint and validate rendered or hand-written artefacts → lists of problems.

No network, no disk writes: callers pass text or parsed values and decide what a problem means.
"""
