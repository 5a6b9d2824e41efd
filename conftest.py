"""Root of the test suite: makes the repository importable as-is (``tests.media``)."""
