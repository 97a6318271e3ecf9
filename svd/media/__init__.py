"""Video frames and the files they become: frames made on demand, the bundled ffmpeg, the formats, the one-pass
writers, and files written whole or not at all."""
