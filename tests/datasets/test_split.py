from gastown_assets.datasets.split import is_val, session_bucket


def test_split_never_puts_one_session_in_both_sets():
    ids = [f"session-{i}" for i in range(2000)]
    val = {s for s in ids if is_val(s, 0.15, "salt")}
    train = {s for s in ids if not is_val(s, 0.15, "salt")}
    assert not val & train and val | train == set(ids)
    assert 200 < len(val) < 400  # about 15 %


def test_split_is_deterministic_and_salted():
    assert session_bucket("abc", "s1") == session_bucket("abc", "s1")
    assert session_bucket("abc", "s1") != session_bucket("abc", "s2")
