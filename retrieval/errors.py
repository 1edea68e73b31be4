"""The one typed error the retrieval layer raises for input it cannot use."""


class ExtractionError(ValueError):
    """A document could not be turned into text; the message says what to do about it."""
