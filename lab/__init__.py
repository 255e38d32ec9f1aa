"""The lab: data preparation, the procedural faces, training, evaluation and its judges, the
library build and the import of outside models. It imports the runtime (`model`) and the wire;
the server never imports it."""
