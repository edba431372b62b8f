"""Data: the example type, the synthetic record schema and loaders for every supported format."""

from emopillars.data.example import Example, LabeledData
from emopillars.data.loaders import FORMATS, DataFormatError, load

__all__ = ["FORMATS", "DataFormatError", "Example", "LabeledData", "load"]
