"""The input picture: read and validated, then fitted to the size the model is asked for."""
