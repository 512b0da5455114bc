"""Unit tests of the provider clients and their parsers."""
