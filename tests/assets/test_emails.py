"""One e-mail grammar for owners, people and actors: addresses as people write them, and nothing
that could be read as a path or hide a character."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import assets.emails
from assets.emails import is_email, look_alikes, normalize_email, read_alike


@pytest.mark.parametrize("address", [
    "alice@acme.example", "sales-data@acme.example", "first.last+tag@mail.acme.example",
    "o'brien@acme.example", "jürgen@beispiel.example", "x@a-b.example", "user@xn--bcher-kva.example",
    "İlker@firma.com.tr", "i\u0307lker@firma.com.tr", "jose\u0301@acme.example",
    "\u0430\u043b\u0451\u043d\u0430@acme.example", "\u03b1\u03b8\u03b7\u03bd\u03ac@acme.example",
    "tanaka.\u7530\u4e2d\u3072\u308d@acme.example", "kim.\uae40@acme.example",
])
def test_addresses_people_write_are_addresses(address: str) -> None:
    assert is_email(address)


@pytest.mark.parametrize("text", [
    pytest.param("../../tmp/x@acme.example", id="a-path"),
    pytest.param("a/b@acme.example", id="a-slash"),
    pytest.param(".alice@acme.example", id="leading-dot"),
    pytest.param("alice.@acme.example", id="trailing-dot"),
    pytest.param("al..ice@acme.example", id="double-dot"),
    pytest.param("alice@acme..example", id="empty-label"),
    pytest.param("alice@-acme.example", id="label-starts-with-a-hyphen"),
    pytest.param("alice@acme", id="no-dot-in-the-host"),
    pytest.param("alice@@acme.example", id="two-ats"),
    pytest.param("al ice@acme.example", id="a-space"),
    pytest.param("alice@acme.example\n", id="a-newline"),
    pytest.param("ali\x1bce@acme.example", id="an-escape"),
    pytest.param("a" * 250 + "@acme.example", id="too-long"),
    pytest.param("sales team", id="no-at"),
    pytest.param("a@b_c.example", id="underscore-in-the-host"),
    pytest.param("a@127.0.0.1", id="an-ip-address"),
    pytest.param("a@1.2", id="a-numeric-top-label"),
    pytest.param("\u0661@\u0662.\u0663", id="non-ascii-host"),
    pytest.param("a" * 65 + "@acme.example", id="local-part-over-64"),
    pytest.param("a@" + "b" * 64 + ".example", id="label-over-63"),
    pytest.param("x@acme.example\x00", id="a-nul"),
    pytest.param("\u0430lice@acme.example", id="a-cyrillic-a-in-alice"),
    pytest.param("ali\u03bfe@acme.example", id="a-greek-omicron-in-latin"),
    pytest.param("b\u043e\u03b2@acme.example", id="cyrillic-and-greek"),
    pytest.param("\U0001d41a\U0001d425ice@acme.example", id="mathematical-bold-letters-in-latin"),
    pytest.param("\uff41lice@acme.example", id="a-full-width-a"),
])
def test_what_is_not_an_address_is_refused(text: str) -> None:
    assert not is_email(text)


@given(st.one_of(st.text(), st.binary(), st.none(), st.integers()))
def test_any_value_is_answered_without_an_error(value: object) -> None:
    assert is_email(value) in (True, False)


@given(st.text())
def test_an_address_never_holds_a_path_separator_or_a_control_character(text: str) -> None:
    if is_email(text):
        assert "/" not in text and "\\" not in text and ".." not in text and text.isprintable()


def test_normalising_strips_case_folds_and_composes() -> None:
    assert normalize_email("  Alice@ACME.Example ") == "alice@acme.example"
    assert normalize_email("jose\u0301@acme.example") == normalize_email("JOS\u00c9@acme.example") == "jos\u00e9@acme.example"


@given(st.text())
def test_a_normalised_address_is_still_an_address(text: str) -> None:
    if is_email(text):
        assert is_email(normalize_email(text))


@given(st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x7A), min_size=1, max_size=20),
       st.sampled_from(["\u0430", "\u0435", "\u043e", "\u0440", "\u03bf", "\u03b1", "\u0501"]))
def test_a_latin_name_with_one_look_alike_letter_of_another_script_is_refused(name: str, other: str) -> None:
    letters = "".join(c for c in name if c.isalpha()) or "a"
    assert not is_email(f"{letters}{other}@acme.example")


@pytest.mark.parametrize(("first", "second"), [
    ("\u0430\u0440\u0435@acme.example", "ape@acme.example"),  # wholly Cyrillic, reads as Latin
    ("y\u0131ld\u0131z@acme.example", "yildiz@acme.example"),  # Turkish dotless i
    ("ape\u2010x@acme.example", "ape-x@acme.example"),  # a Unicode hyphen
    ("\u0421\u0410\u0420\u0410@acme.example", "capa@acme.example"),  # compared case-folded
])
def test_addresses_that_read_as_each_other_are_told(first: str, second: str) -> None:
    assert is_email(first) and read_alike(first, second) and read_alike(second, first)


@pytest.mark.parametrize(("first", "second"), [
    ("\u0438\u0432\u0430\u043d@acme.example", "ivan@acme.example"),  # и has no Latin look-alike
    ("j\u00fcrgen@acme.example", "jurgen@acme.example"),
    ("bob1@acme.example", "bobl@acme.example"),  # two ASCII addresses are told apart by reading them
    ("ape@acme.example", "APE@acme.example"),  # one address in two spellings
    ("\u0430\u0440\u0435@acme.example", "apf@acme.example"),
])
def test_addresses_that_do_not_read_alike_are_not(first: str, second: str) -> None:
    assert not read_alike(first, second)


@given(st.text(alphabet="ace", min_size=1, max_size=12))
def test_every_latin_name_has_its_cyrillic_look_alike_told(name: str) -> None:
    cyrillic = name.translate(str.maketrans("ace", "\u0430\u0441\u0435"))
    assert read_alike(f"{cyrillic}@acme.example", f"{name}@acme.example")


def _every_pair(emails: list[str]) -> dict[str, str]:
    """The definition :func:`look_alikes` keeps: each non-ASCII address against every ASCII one,
    then every non-ASCII one before it."""
    plain = [e for e in dict.fromkeys(emails) if e.isascii()]
    others = [e for e in dict.fromkeys(emails) if not e.isascii()]
    found = {}
    for i, email in enumerate(others):
        twin = next((o for o in (*plain, *others[:i]) if read_alike(email, o)), None)
        if twin is not None:
            found[email] = twin
    return found


_LATIN, _CYRILLIC = "aceopxy", "\u0430\u0441\u0435\u043e\u0440\u0445\u0443"
_NAME = st.text(alphabet=_LATIN + "1l0\u04cf\u0131\u03bf\u0251\u00fc", min_size=1, max_size=4)
_SPELLING = st.sampled_from([str.maketrans(_LATIN, _CYRILLIC), str.maketrans("", ""), str.maketrans("ol", "\u03bf1")])


@given(st.lists(st.tuples(_NAME, _SPELLING, st.booleans()), max_size=12))
def test_look_alikes_finds_what_comparing_every_pair_finds(drawn: list[tuple[str, dict[int, str], bool]]) -> None:
    """Names and their look-alikes in other scripts (each name's twin may come before or after it)."""
    emails = []
    for name, spelling, both in drawn:
        emails += [f"{name.translate(spelling)}@acme.example", *([f"{name}@acme.example"] if both else [])]
    assert look_alikes(emails) == _every_pair(emails)


def test_look_alikes_compares_only_addresses_of_one_family(monkeypatch: pytest.MonkeyPatch) -> None:
    """3,000 non-ASCII role members made mesh.toml take 28 s to load: every pair was compared.
    Now each address is compared with those of its confusable family only."""
    compared = []
    real = assets.emails.read_alike
    monkeypatch.setattr(assets.emails, "read_alike", lambda a, b: compared.append((a, b)) or real(a, b))
    names = [f"\u0438\u0432\u0430\u043d{n}@acme.example" for n in range(3000)]  # иван0.., no Latin twin
    assert look_alikes([*names, "ivan@acme.example", "ape@acme.example"]) == {}
    assert len(compared) == 0
    assert look_alikes(["ape@acme.example", "\u0430\u0440\u0435@acme.example"]) == {
        "\u0430\u0440\u0435@acme.example": "ape@acme.example"}
