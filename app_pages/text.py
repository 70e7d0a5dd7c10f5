"""Text from files (a workbook, a claims file, a file name) shown as text, never as markup: `plain`
for elements that show plain text, `md` for those that read Markdown."""

from __future__ import annotations

import re

from compiler.vocabulary import plain_text

# Every ASCII punctuation character: CommonMark lets any of them be escaped, and escaped they are
# text (no emphasis, heading, list, link, image, HTML, math, Streamlit colour or icon directive).
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# GitHub's autolinks find URLs and e-mail addresses in the text itself, escaped or not: a word
# joiner (U+2060, invisible, no break) after "://", "www" and "@" keeps them text.
_AUTOLINK = re.compile(r"(://|(?<![^\W_])www(?=\.)|@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(value: object) -> str:
    """Text from a workbook, a claims file or a file name for an element that shows plain text
    (st.text, a select box's options, a chart's labels): one line, no bidi or control characters."""
    return plain_text(value)


def md(value: object) -> str:
    """The same for an element that reads Markdown (st.markdown, captions, alerts, table cells,
    titles): escaped so that it shows exactly as written and links, loads or formats nothing."""
    return _PUNCTUATION.sub(r"\\\1", _AUTOLINK.sub(r"\1" + WORD_JOINER, plain_text(value)))
