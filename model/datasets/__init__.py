"""Procedural data sets: generators whose sketches feed `model.prepare`'s format directly."""
