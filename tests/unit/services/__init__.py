"""Unit tests of the shared service layer."""
