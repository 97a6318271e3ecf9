"""Camera moves for SVD without training: a guide video of the move, rendered from the picture, becomes the
starting point of the stock pipeline's denoising (SDEdit): noised to an intermediate sigma and denoised from there."""
