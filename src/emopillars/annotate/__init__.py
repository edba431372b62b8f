"""Human evaluation of a dataset, the paper's protocol: several annotators label the same items with up to 5
emotions each, the context revealed on demand; their agreement and the teacher's accuracy are scored.

- :func:`~emopillars.annotate.kit.export_kit` (``emopillars annotate export``): items, one self-contained
  HTML form per annotator (:mod:`~emopillars.annotate.form`), CSV / JSON for Label Studio and Argilla;
- :func:`~emopillars.annotate.score.score_kit` (``emopillars annotate score``): reads the answer CSVs
  (:mod:`~emopillars.annotate.answers`) and reports Cohen's and Fleiss' kappa and the teacher's accuracy.
"""

from emopillars.annotate.answers import AnswerFileError
from emopillars.annotate.kit import Kit, export_kit, load_kit
from emopillars.annotate.score import score_kit

__all__ = ["AnswerFileError", "Kit", "export_kit", "load_kit", "score_kit"]
