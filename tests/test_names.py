"""Drug words (names.normalize, has_words): the contract's algorithm, exactly (docs/consumers.md,
and docs/claims-and-decisions.md, "Drug names")."""

from __future__ import annotations

import pytest

from compiler.names import has_words, is_generic, normalize


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Phenytoin Sodium 100 mg capsule", "phenytoin sodium 100 mg capsule"),
        ("St. John’s  Wort", "st johns wort"),
        ("St John's wort", "st johns wort"),
        ("St Johnʼs wort", "st johns wort"),  # U+02BC, the modifier letter apostrophe
        ("rifampin–isoniazid", "rifampin isoniazid"),  # en dash
        ("rifampin—isoniazid", "rifampin isoniazid"),  # em dash
        ("Tegretol®XR", "tegretol xr"),
        ("carbamazepine→phenytoin", "carbamazepine phenytoin"),
        ("Dilantin™", "dilantin"),  # never "dilantintm"
        ("rifampin/isoniazid", "rifampin isoniazid"),
        ("RIFÁMPIN", "rifampin"),
        ("Phénobarbital", "phenobarbital"),
        ("Phe\u0301nobarbital", "phenobarbital"),  # the accent as a combining mark
        ("rif\u00adampin", "rifampin"),  # soft hyphen: a format character, dropped
        ("rif\u200bampin", "rifampin"),  # zero-width space: dropped, not a break
        ("ｒｉｆａｍｐｉｎ", "rifampin"),  # full-width letters
        ("Straße", "strasse"),
        ("ΡΙΦΑΜΠΙΚΙΝΗ", "ριφαμπικινη"),  # Greek letters are letters
        ("ΟΔΟΣ", "οδοσ"),  # case folding, not lowercasing: no final sigma
        ("Рифампицин 300", "рифампицин 300"),
        ("利福平·胶囊", "利福平 胶囊"),  # CJK letters kept, the middle dot a break
        ("vitamin B₁₂", "vitamin b12"),  # numbers of any kind
        ("John‘s", "john s"),  # a left quotation mark is not an apostrophe: a break
        ("  ", ""),
        ("®™", ""),
    ],
)
def test_drug_words_follow_the_contract(text, words):
    assert normalize(text) == words


@pytest.mark.parametrize(
    ("claim_drug", "entry", "matches"),
    [
        ("Phenytoin Sodium 100 mg capsule", "phenytoin", True),
        ("St John’s wort", "St. John's Wort", True),
        ("rifampin–isoniazid", "rifampin", True),
        ("rifampin–isoniazid", "isoniazid", True),
        ("Tegretol®XR", "Tegretol", True),
        ("carbamazepine→phenytoin", "carbamazepine", True),
        ("Dilantin™ 100 mg", "Dilantin", True),
        ("rifaximin", "rifampin", False),
        ("rifampinx", "rifampin", False),
        ("St John wort", "St. John's Wort", False),  # "john" is not "johns"
        ("ΡΙΦΑΜΠΙΚΙΝΗ 300", "Ριφαμπικίνη", True),
        ("anything", "®", False),  # an entry with no words matches nothing
    ],
)
def test_entry_words_appear_as_consecutive_whole_words(claim_drug, entry, matches):
    assert has_words(normalize(claim_drug), normalize(entry)) is matches


def test_generic_names_still_found_through_unicode_punctuation():
    assert is_generic("Oral–Solution")
    assert is_generic("100 mg®")
    assert not is_generic("Dilantin™")
