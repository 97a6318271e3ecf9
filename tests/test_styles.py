"""Style presets: ours are complete and plain text, a user's file adds or replaces them, and a bad file is one line
that names its line."""

from __future__ import annotations

import pytest

from svd.camera.moves import MOVES
from svd.errors import InputError
from svd.text.styles import PLACEHOLDER, check_style, load_styles

REQUIRED = {
    "none", "photographic", "cinematic", "anime", "3d-model", "digital-art", "comic-book", "fantasy-art", "line-art",
    "analog-film", "neon-punk", "isometric", "low-poly", "origami", "pixel-art", "claymation", "watercolour",
}  # fmt: skip


def test_our_presets_cover_the_list_and_are_plain_templates():
    styles = load_styles()
    assert set(styles) >= REQUIRED and len(styles) >= 17
    for style in styles.values():
        assert style.prompt.count(PLACEHOLDER) == 1 and ":1." not in style.prompt + style.negative_prompt
        assert style.camera is None or style.camera in MOVES
    assert styles["none"].apply(" a fox ", "") == ("a fox", "")
    prompt, negative = styles["anime"].apply("a fox in {snow}", "people")
    assert prompt.startswith("anime artwork of a fox in {snow}, ") and negative.endswith(", people")


def test_a_users_file_adds_and_replaces_presets(tmp_path):
    user = tmp_path / "styles.json"
    user.write_text('[{"name": "anime", "prompt": "my anime {prompt}"},\n {"name": "gold", "prompt": "{prompt}, gold",'
                    ' "negative_prompt": "silver", "motion": 60, "camera": "zoom-in"}]')  # fmt: skip
    styles = load_styles(user)
    assert styles["anime"].apply("x") == ("my anime x", "")
    assert (styles["gold"].title, styles["gold"].motion, styles["gold"].camera) == ("gold", 60, "zoom-in")
    assert list(styles)[-1] == "gold" and load_styles(tmp_path / "absent.json").keys() == load_styles().keys()
    with pytest.raises(InputError, match="style 'gilded' is not known: use one of none, photographic"):
        check_style("gilded", styles)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[\n  {"name": "a", "prompt": "{prompt}"},\n  {"name": "b" "prompt": "x"}\n]', "line 3: not valid JSON"),
        ('{"name": "a"}', "line 1: expected a list of presets"),
        ('[\n {"name": "a", "prompt": "no placeholder"}\n]', "line 2: preset a: prompt must be text with"),
        ('[\n\n {"name": "a", "prompt": "(red:1.4) {prompt}"}]', "line 3: preset a: (word:1.3) weighting is not"),
        ('[{"name": "a", "prompt": "{prompt}", "motion": 300}]', "line 1: preset a: motion must be a whole number"),
        ('[{"name": "a", "prompt": "{prompt}", "camera": "dolly"}]', "line 1: preset a: camera 'dolly' is not a move"),
        ('[{"name": "A b", "prompt": "{prompt}"}]', "line 1: name 'A b' must be lower-case"),
        ('[{"name": "a", "prompt": "{prompt}", "colour": 1}]', "line 1: unknown key 'colour'"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_line(tmp_path, text, message):
    user = tmp_path / "styles.json"
    user.write_text(text)
    with pytest.raises(InputError) as raised:
        load_styles(user)
    assert str(raised.value).startswith(f"style file {user}, {message}") and "\n" not in str(raised.value)
