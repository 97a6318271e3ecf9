"""The models the engine runs: the catalogue and how a name resolves, download into the Hugging Face cache, loading,
the device, the GPU memory profiles and the exact speed-ups."""
