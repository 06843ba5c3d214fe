"""Command lines: `generate_image.py`, `anime_usecase.py` and `python -m sdturbo.domain`."""
