"""Camera moves without training: each move's geometry, and its guide video rendered from the picture (with depth for
the moves that need parallax). How a model starts from a guide is its family's (`svd.families.camera`)."""
