"""Pure text functions: decoding, normalisation, tokens, bidi isolation."""
