"""Dataset statistics: pure functions over records, one module per family, and the report writer.

- :mod:`~emopillars.stats.records`: the record the statistics see (:class:`StatRecord`);
- :mod:`~emopillars.stats.labels`: labels per example, distribution, levels, neutral share, requested vs
  primary label, unmapped teacher words;
- :mod:`~emopillars.stats.diversity`: distinct-n, duplicates (MinHash), lengths, within vs across character
  embedding similarity (:mod:`~emopillars.stats.embeddings` encodes);
- :mod:`~emopillars.stats.contexts`: emotion words before / after cleaning, raw vs cleaned and original vs
  rewritten similarity, contexts containing or running past the utterance;
- :mod:`~emopillars.stats.agreement`: Cohen's and Fleiss' kappa, teacher accuracy against annotators;
- :mod:`~emopillars.stats.plots`, :mod:`~emopillars.stats.report`: PNG plots, ``report.md`` / ``report.json``
  (``emopillars inspect``); :mod:`~emopillars.stats.source` reads what is inspected.

The synthesis manifest's label and context figures come from the same functions.
Submodules are imported on use: this package stays cheap to import (no matplotlib, no torch).
"""

from emopillars.stats.records import StatRecord, from_example, from_examples, from_synthetic

__all__ = ["StatRecord", "from_example", "from_examples", "from_synthetic"]
