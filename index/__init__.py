"""The writing side: read, clean, chunk, embed and store documents.

Nothing happens at import. How the engines' threads run is chosen once,
just before the first engine loads (``index.threads``).
"""
