"""Procedural data sets: generators whose sketches feed `lab.prepare`'s format directly."""
