"""The generator of the sample transcripts shipped in ``gastown_assets/samples`` (see generate.py).

Not part of the installed package: only its output (``gastown_assets.samples.SESSIONS_DIR``
and ``PLANTED_SECRETS``) is used at run time.
"""
