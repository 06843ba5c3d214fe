"""The domain validator: is a prompt anime concept art? Keyword rules, then embeddings. No Flask, no torch.

python -m sdturbo.domain "a photo of a cat"         # prints the verdict as JSON
python -m sdturbo.domain --eval tests/data/domain_dev.tsv
"""

from sdturbo.domain.validator import DEFAULT_STYLE, DomainValidator, Verdict

__all__ = ["DEFAULT_STYLE", "DomainValidator", "Verdict"]
