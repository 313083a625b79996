from gridops.routing.normalise import normalise, normalise_with_offsets, source_span


def test_folds_width_case_and_drops_punctuation_but_keeps_digits() -> None:
    assert normalise("８号楼　ＡＢ门口，路灯不亮！！") == "8号楼ab门口路灯不亮"
    assert normalise("Wi-Fi 信号_差 🙄 ...") == "wifi信号差"


def test_offsets_point_back_to_the_original_wording() -> None:
    text = "清石路 ，路灯　不亮"
    norm, offsets = normalise_with_offsets(text)
    assert norm == normalise(text)
    start = norm.index("路灯不亮")
    assert source_span(text, offsets, start, start + 4) == "路灯　不亮"
    assert source_span(text, offsets, 3, 3) == ""
