"""The T5 tokenizer of the tiny random models of the families that take text (Wan, LTX-Video), built locally: no
tokenizer can be downloaded where the tests run. A Unigram model whose pieces are `<pad>`, `</s>`, `<unk>`, the
word-start mark and every printable ASCII character (98 ids, one per character; the tiny text encoders have exactly
that many embeddings)."""

from __future__ import annotations

import string

from transformers import T5Tokenizer

SPECIAL_TOKENS = ("<pad>", "</s>", "<unk>")
"""T5's special tokens, at ids 0, 1 and 2 as in the real vocabulary."""
WORD_START = "\u2581"
"""SentencePiece's mark for a space before a word."""


def build_t5_tokenizer(max_length: int) -> T5Tokenizer:
    """A T5 tokenizer (Unigram, SentencePiece-style word starts, `</s>` appended) with one piece per printable
    ASCII character; any other character becomes `<unk>`. `max_length`: its `model_max_length`."""
    characters = [character for character in string.printable if character.isprintable() and character != " "]
    pieces = [(token, 0.0) for token in SPECIAL_TOKENS] + [(WORD_START, -2.0)]
    pieces += [(character, -3.0) for character in characters]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=max_length)
