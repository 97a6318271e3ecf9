"""The WebUI's parts, one module per part of the page; `webui.py` assembles them and launches the server.

Gradio code lives here and in `webui.py` only; the engine in `svd/` knows nothing of it.
"""
