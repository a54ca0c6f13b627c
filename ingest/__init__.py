"""Turning files into passages: parsers, footnotes, chunking, passage types, legal references."""
