"""Extraction: html + url -> Extracted or Rejected (the only importer of trafilatura)."""
