"""Issue #17 item 7: `pipe` and `__call__` check their arguments at the call, not at the first iteration."""

import pytest


def test_pipe_refuses_a_single_string_instead_of_one_result_per_character(tiny_extractor):
    with pytest.raises(TypeError, match="iterable of str, got one str"):
        tiny_extractor.pipe("Bộ trưởng thăm Lào.")
    with pytest.raises(TypeError, match="got one bytes"):
        tiny_extractor.pipe(b"Lao")
    with pytest.raises(TypeError, match="got int"):
        tiny_extractor.pipe(3)


@pytest.mark.parametrize("bad", [0, -1, 2.0, "32", None, True])
def test_a_bad_batch_size_fails_at_the_call(tiny_extractor, bad):
    # Not iterating the result: the error must come from the call itself.
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        tiny_extractor.pipe(["Lào"], batch_size=bad)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        tiny_extractor("Lào", batch_size=bad)


def test_calling_with_a_list_works_like_pipe(tiny_extractor, corpus):
    texts = [corpus[0][:300], "", "Lào"]
    results = tiny_extractor(texts)
    assert isinstance(results, list)
    assert results == list(tiny_extractor.pipe(texts))
    assert tiny_extractor(tuple(texts)) == results
    assert results[0] == tiny_extractor(texts[0])


def test_calling_with_a_wrong_type_names_it(tiny_extractor):
    with pytest.raises(TypeError, match="bytes"):
        tiny_extractor(b"Lao")
    with pytest.raises(TypeError, match="NoneType"):
        tiny_extractor([None])


def test_a_non_str_text_in_pipe_is_named_by_its_index(tiny_extractor):
    """It said "extract() takes a str, got bytes": which of thousands of texts, and pipe was not extract()."""
    got = []
    with pytest.raises(TypeError, match=r"^pipe\(\) takes str texts, got bytes at index 2$"):
        got.extend(tiny_extractor.pipe(["Lào.", "Hà Nội.", b"Lao", "Lào."]))
    assert [r.text for r in got] == ["Lào.", "Hà Nội."]  # the texts before it, as documented
    with pytest.raises(TypeError, match=r"^pipe\(\) takes str texts, got NoneType at index 1$"):
        list(tiny_extractor.pipe([("Lào.", 0), (None, 1)], as_tuples=True))


def test_a_pair_that_is_not_one_in_pipe_as_tuples_is_named_by_its_index(tiny_extractor):
    """It said "takes (text, context) pairs, got 'Lào.'": which of thousands of records was not a pair."""
    got = []
    with pytest.raises(TypeError, match=r"pairs, got 'Hà Nội\.' at index 1$"):
        got.extend(tiny_extractor.pipe([("Lào.", 0), "Hà Nội.", ("Lào.", 2)], as_tuples=True))
    assert got == [(tiny_extractor("Lào."), 0)]  # the pairs before it


@pytest.mark.parametrize("bad", [0, "512", 2.5])
def test_a_bad_batch_tokens_fails_at_the_call(tiny_extractor, bad):
    with pytest.raises(ValueError, match="batch_tokens must be a positive int"):
        tiny_extractor.pipe(["Lào"], batch_tokens=bad)


def test_numpy_numbers_are_numbers_and_labels_must_be_labels(tiny_extractor):
    np = pytest.importorskip("numpy")
    expected = [r.to_dict() for r in tiny_extractor.pipe(["Bộ trưởng thăm Lào."], batch_size=4, threshold=0.5)]
    got = tiny_extractor.pipe(["Bộ trưởng thăm Lào."], batch_size=np.int64(4), threshold=np.float32(0.5))
    assert [r.to_dict() for r in got] == expected
    with pytest.raises(TypeError, match="labels must be an entity label or a list of them, got int"):
        tiny_extractor.pipe(["Lào"], labels=123)


@pytest.mark.parametrize("labels", [[["PER"]], [1, "XYZ"], ["PER", None]])
def test_a_label_that_is_not_a_str_is_named(tiny_extractor, labels):
    """A list inside was a bare "unhashable type: 'list'", and [1, 'XYZ'] a TypeError from sorting them."""
    with pytest.raises(TypeError, match=r"^labels must be entity label strs, got "):
        tiny_extractor.pipe(["Lào"], labels=labels)


def test_from_json_of_something_else_names_the_missing_fields():
    from viextract import Extraction

    with pytest.raises(ValueError, match=r"not an Extraction's JSON: field\(s\) \['entities', 'relations'\] missing"):
        Extraction.from_json('{"text": "a"}')


@pytest.mark.parametrize(
    ("entities", "relations", "message"),
    [
        ('[{"text": "a"}]', "[]", r"entities\[0\]: field\(s\) \['label', 'start', 'end', 'score'\] missing"),
        ("[1]", "[]", r"entities\[0\]: field\(s\) \['text', 'label', 'start', 'end', 'score'\] missing"),
        ("null", "[]", r"field 'entities': expected a list, got NoneType"),
        ("[]", '[{"label": "x"}]', r"relations\[0\]: field\(s\) \['head', 'tail', 'score'\] missing"),
    ],
)
def test_from_json_names_the_entity_or_relation_at_fault(entities, relations, message):
    """These were a bare KeyError 'label' or "'int' object is not subscriptable"."""
    from viextract import Extraction

    with pytest.raises(ValueError, match=rf"^from_json\(\): {message}$"):
        Extraction.from_json(f'{{"text": "a", "entities": {entities}, "relations": {relations}}}')


@pytest.mark.parametrize(
    ("data", "missing"), [({"text": "a", "label": "PER"}, "'start', 'end', 'score'"), ([], "'text', .*'score'")]
)
def test_entity_from_dict_names_the_missing_fields(data, missing):
    """A bare KeyError 'start' (or "list indices must be integers"), where from_json says which fields."""
    from viextract import Entity

    with pytest.raises(ValueError, match=rf"^Entity\.from_dict\(\): field\(s\) \[{missing}\] missing$"):
        Entity.from_dict(data)
