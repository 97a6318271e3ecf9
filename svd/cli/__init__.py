"""The command line, `python -m svd`: generate, finish, text to video, deploy on Ray, download, make-tiny."""
