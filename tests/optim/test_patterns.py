import pytest

import flarejax as flr
from flarejax.optim._patterns import matches, normalize_patterns


def m(spec, key):
    return matches(normalize_patterns(spec), key)


@pytest.mark.parametrize(
    ("spec", "key", "expected"),
    [
        ("encoder.*", "encoder.layers.0.kernel", True),
        ("encoder.*", "decoder.layers.0.kernel", False),
        ("*.bias", "encoder.layers.0.bias", True),
        ("*.bias", "bias", False),
        ("layers.[0-1].kernel", "layers.1.kernel", True),
        ("layers.[0-1].kernel", "layers.2.kernel", False),
        ("Encoder.*", "encoder.w", False),  # case-sensitive
        ("glob:a:b*", "a:bc", True),
        (r"re:.*\.(bias|scale)", "enc.0.scale", True),
        (r"re:.*\.(bias|scale)", "enc.0.scale.x", False),  # the whole key must match
        ("re:enc", "encoder", False),
        (["*.bias", "re:.*kernel"], "a.kernel", True),
        (("*.bias", "x"), "y", False),
        ([], "y", False),
        (lambda key: key.startswith("dec"), "decoder.w", True),
    ],
)
def test_matching(spec, key, expected):
    assert m(spec, key) is expected


def test_normalized_form_is_static():
    assert normalize_patterns(["a", "b"]) == ("a", "b")
    assert normalize_patterns("a") == ("a",)
    f = lambda key: True  # noqa: E731
    assert normalize_patterns(f) is f


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("re:enc(", r"invalid regular expression in pattern 're:enc\('"),
        ("regex:enc.*", r"unknown pattern syntax 'regex:' in 'regex:enc\.\*'"),
        ("", "empty pattern"),
        (3, "patterns must be a pattern string, a list of them or a function"),
        ([3], "pattern 3 must be a string"),
        (["a", None], "pattern None must be a string"),
        ({"a": 1}, "must be a pattern string"),
    ],
)
def test_bad_patterns(spec, match):
    with pytest.raises(ValueError, match=match):
        normalize_patterns(spec)


@pytest.mark.parametrize(
    ("cls", "mask", "match"),
    [
        ("AdamaxW", "", "the empty pattern"),
        ("NAdamW", "re:(", "invalid regular expression in pattern 're:\\('"),
        ("LAMB", ["w", 1], "must be a string"),
        ("Lion", "bad:x", "unknown pattern syntax"),
    ],
)
def test_weight_decay_masks_reject_bad_patterns_at_construction(cls, mask, match):
    with pytest.raises(ValueError, match=match):
        getattr(flr.optim, cls)(0.01, mask=mask)
