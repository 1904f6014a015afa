"""The browser app (Gradio) over ``qa``: see ``ui.app``."""
