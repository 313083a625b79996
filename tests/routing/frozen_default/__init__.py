"""The default router (phrases + similarity fallback + learned model) frozen as it was at commit
108239e, before the speed work on the model and the fallback: a reference the optimised
code must match decision for decision (`test_default_fingerprint.py`). Copied verbatim; only
the imports point here. Do not optimise this copy.
"""
