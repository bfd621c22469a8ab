"""SLM Explorer's pure library: models, compression, catalog, backends, scoring.

Never imports streamlit. One concept per module; import the module you need,
e.g. ``from slm_lib import catalog``.
"""
