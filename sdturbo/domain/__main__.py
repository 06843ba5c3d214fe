"""`python -m sdturbo.domain`: one verdict as JSON, or `--eval FILE.tsv` for accuracy and latency."""

import sys

from sdturbo.domain.evaluate import main

sys.exit(main())
