"""Concept-art batches from a curated catalog: folders of PNGs, a manifest and contact sheets."""

from sdturbo.assets.render import catalog, generate_anime_assets, plan, prompts_of

__all__ = ["catalog", "generate_anime_assets", "plan", "prompts_of"]
