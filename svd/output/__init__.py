"""What a run leaves in the output folder: the store that saves a generation, its sidecar read back, and the
history."""
