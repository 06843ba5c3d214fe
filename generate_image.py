"""SD-Turbo image generation: `SDTurboGenerator` for Python, and a CLI that writes sample images.

    from generate_image import SDTurboGenerator
    image = SDTurboGenerator().generate("anime fox in a lantern-lit alley", num_inference_steps=2, seed=7)

Run `python generate_image.py --help` for the command line.
"""

import sys

from sdturbo.cli.generate import main
from sdturbo.engine import GenerationResult
from sdturbo.errors import InvalidParameterError, ModelLoadError
from sdturbo.generator import SDTurboGenerator

__all__ = ["GenerationResult", "InvalidParameterError", "ModelLoadError", "SDTurboGenerator", "main"]

if __name__ == "__main__":
    sys.exit(main())
