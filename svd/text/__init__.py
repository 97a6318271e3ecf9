"""First frames from text: the text-to-image models, the style presets, and making the candidates."""
