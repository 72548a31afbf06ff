"""Indonesian-aware sentence and paragraph segmentation with exact character offsets.

The classifier labels *sentences*, so every document goes through this module before
inference. It is pure standard library (only ``re``) because it runs over millions of
documents, often in worker processes that should not import torch just to split text.

Public API
----------
``Span``                 a frozen (start, end, text) triple; ``text == source[start:end]``.
``split_sentences(text)`` sentences, in order.
``split_paragraphs(text)`` paragraphs, in order (every sentence lies inside one).
``split_units(text, unit)`` dispatch on ``"sentence" | "paragraph" | "document"``.

Guarantees (tested on a case table and on random input): spans are in order, do not
overlap, are non-empty, carry no leading or trailing whitespace, and the text between
them is whitespace only, so no visible character of the input is ever dropped.

Conventions (decisions; the test table pins each of them)
----------------------------------------------------------
Sentence ends
    A sentence may end after a run of ``. ! ? … ‼ ⁇ ⁈ ⁉`` plus any closing quotes or
    brackets, *and only where whitespace follows* (``KOMPAS.com``, ``07.00``, ``1.500``,
    ``3.5``, ``24/11/2024``, URLs and e-mails never offer a break). It does end there
    only when the next token starts with a capital letter or a digit (after skipping
    opening quotes/brackets), or with a lowercase word that is clearly mixed-case
    (``e-KTP``, ``iPhone``).
Lowercase after an end mark
    ``“Kami siap.” kata Kapolres.`` is one sentence, and so is any end mark followed by
    a lowercase word: attributions (``ujarnya``, ``tegasnya``, ...), ellipses inside a
    sentence (``Kami ... siap``) and sloppy social-media text with missing capitals
    (``jaga tps. jangan golput``). We prefer an occasional over-long sentence in sloppy
    text to cutting attributions off their quotes in edited news.
Quotations
    A multi-sentence quote is split at each sentence end inside it; the attribution
    stays with the last quoted sentence (``“A. B,” ujarnya.`` -> ``“A.`` / ``B,”
    ujarnya.``). A capitalised attribution verb right after a closing quote
    (``“Siap!” Ujarnya.``) also stays, but ``Kata`` and any word followed by a comma
    (``Tegasnya, ...``) start a new sentence, because they are ordinary openers.
Abbreviations
    Titles, ranks and address words before a name or number (``Dr. Ir. H. Prof.
    Irjen Pol. Brigjen. AKBP. Hj. Jl. Kec. Kab. Rp. No. tgl. hlm. a.n. s.d.`` ...),
    single capital initials (``M. Yusuf``) and dotted initial chains (``A.A. Gde``,
    ``M.H. Thamrin``) never end a sentence. Words that may end one (``dll. dsb. dkk.``)
    end it before a capital. Academic degrees (``S.H. M.Si. S.I.K.``) end a sentence
    before a capital only when written in the usual ``Name, S.H., M.Si.`` position
    (after a comma or another degree); otherwise they read as initials.
    A capital single letter is an initial, so it ends a sentence only after the few
    nouns that name things with a letter (``menjelang hari H.``, ``Blok A.``);
    ``... ditemui Yusuf M. Kapolres ...`` is not split. ``RT.``/``RW.`` end a
    sentence (``ketua RT. Budi ...``) except before a number (``RT. 03/RW. 05``).
Enumerations
    An item number (``1.``, ``a.``, ``IV.``) at the start of a sentence never ends it,
    so ``1.`` is never a sentence on its own (unless nothing at all follows it). An
    item number after an end mark, colon or semicolon and before a capital starts a
    new sentence (``... berikut: 1. Seluruh ASN ... 2. Camat ...``: list items are
    sentences, as in the labeled corpus); with lowercase items the enumeration stays
    one sentence (``Fokus kegiatan: 1. patroli; 2. sambang.``). A colon before an
    ordinary capitalised word does not end a sentence (``Hadir: Kapolres, Dandim``).
Editor codes
    A trailing ``(*)``, ``(ant/dil)``, ``(ANT)``, ``[red]``, ``***`` or short credit
    line (``(Humas Polres Berau)``: brackets, at most 120 characters, no sentence end
    inside) closes the last sentence -- on the same line, the next line, or after a
    blank line -- instead of becoming one.
Social media: hashtags, mentions, emoji
    A ``#tag``/``@user``/emoji after an end mark continues the sentence (it annotates
    it). Posts often end sentences with an emoji instead of a full stop, so a run of
    emoji and tags followed by a capitalised word ends the sentence there
    (``... panjang bgt 😅 Petugas ...``); before lowercase or a digit it does not, and a
    sentence is never just emoji and tags.
ALL-CAPS titles
    At a paragraph start, four or more tokens without lowercase (three of them words)
    followed by a capitalised word are a title whose line break was lost
    (``INSTRUKSI BUPATI ... TAHUN 2024 Dalam rangka ...``); ``Nomor``/``Tahun``/
    ``tentang`` continue a letterhead instead, and a dash marks a dateline, not a title.
Paragraphs and line breaks
    Blank lines always separate paragraphs. A *single* line break also separates them
    when (a) the line before ends a sentence by the rules above (one paragraph per
    line, as scraped news is stored), (b) the next line is a list item (``1.``, ``a)``,
    ``-``, ``•`` ...), (c) the line before is a heading (short, title case or ALL CAPS,
    no end mark, starting its paragraph) and the next line starts with a capital,
    (d) the line before is an editor code, (e) we are inside a list item and the
    next line starts with a capital, or (f) the line before ends in ``:`` and the next
    starts with a capital (an unnumbered item of an instruction). Otherwise a single
    line break is a soft wrap: the lines are one paragraph and a sentence runs across
    them -- also in social-media posts whose lines lack end marks; we cannot tell those
    from hard-wrapped prose. So every list item is
    its own paragraph and its own sentence, and hard-wrapped text is rejoined. A line
    holding only an item number (``1.``) is joined to the line after it. Sentences
    never cross paragraph boundaries. A capital single letter + ``.`` opening a line
    counts as a list item only right after another item or a line ending in ``:``, so
    a wrapped line that starts with an initial (``M. Yusuf``) is not torn off.
Datelines
    ``BANDAR LAMPUNG – Kapolda ...`` has no end mark, so it stays in the first sentence;
    a dateline alone on its own line reads as a heading, and one ending in a dash
    (``BANDAR LAMPUNG –``) is joined to the next line.
Not split
    An end mark glued to the next word without a space (``siap.Kapolres``): too often a
    domain or a code to risk it.

Cost is linear in the input: candidate ends come from one precompiled regex pass whose
alternatives can only start where a run starts, and every look-around is bounded to a
few dozen characters (about 1 MB/s, under a millisecond for a typical article).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Span", "split_sentences", "split_paragraphs", "split_units", "UNITS"]

#: Units accepted by :func:`split_units`.
UNITS: tuple[str, ...] = ("sentence", "paragraph", "document")


@dataclass(frozen=True)
class Span:
    """A stretch of the original text: ``source[start:end] == text``."""

    start: int  # character offset into the original text
    end: int    # exclusive
    text: str


# --------------------------------------------------------------------------- characters

_TERMINAL = ".!?…‼⁇⁈⁉"
# Closing quotes and brackets that belong to the sentence they follow. Straight quotes
# are in both sets: glued to the end mark they close, after whitespace they open.
_CLOSERS = "\"'”’»›)]}"
_OPENERS = "\"'“‘„‚«‹([{"
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\u2028\u2029\x85\x0b\x0c]")
# One or more blank lines (a line break, then lines holding only spaces and tabs, then
# a line break). ``\r`` counts alone only when no ``\n`` follows, so ``\r\n`` is one
# break, not a blank line.
_LB = r"(?:\r\n|\r(?!\n)|[\n\u2028\u2029\x85\x0b\x0c])"
_BLANK_LINES = re.compile(_LB + r"(?:[^\S\n\r\u2028\u2029\x85\x0b\x0c]*" + _LB + ")+")

# Pictographs that social-media text uses as a full stop (``... jalan 😅 Salut ...``).
_EMOJI = ("\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff"
          "\ufe0f\u200d\u20e3\U000e0020-\U000e007f")
# One pass over the text finds every place a sentence *could* end: an end mark with
# its closers, a "soft" end (an emoji run, a #tag or @mention), or a colon/semicolon
# (only ever a break before a list item).
# Each alternative may only start where its run starts (the look-behinds): otherwise a
# long run with no space after it (2 MB of dots) would be rescanned from every offset.
_CANDIDATE = re.compile(
    "(?P<end>(?<![" + re.escape(_TERMINAL) + "])[" + re.escape(_TERMINAL) + "]+"
    "[" + re.escape(_CLOSERS) + "]*)(?=\\s)"
    "|(?P<soft>(?<!\\S)[#@][^\\s#@]+|(?<![" + _EMOJI + "])[" + _EMOJI + "]+)(?=\\s)"
    "|(?P<colon>[:;])(?=\\s)")
_SOFT_TOKEN = re.compile("(?:[#@][^\\s#@]+|[" + _EMOJI + "]+)")
_TRAILING_SOFT = re.compile("(?:^[#@][^\\s#@]+|[" + _EMOJI + "]+)\\Z")
_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"\S*")

# Bounds on every look-around, which keeps the scan linear on hostile input.
_LOOK = 64

# --------------------------------------------------------------------------- word lists

# Abbreviations that stand before a name, number or place and so never end a sentence.
# Compared lowercased, without the final dot. Full words (``Mayor``, ``Jenderal``) are
# left out: they can end a sentence.
_PREFIX_ABBREVIATIONS = frozenset("""
    dr drs dra ir prof h hj kh k.h tn ny nn bpk bp sdr sdri yth ytc
    moh muh mhd moch much mochamad abd pdt ust ustd hab rd drg ns tgk pj plt plh
    pol brigjen irjen komjen jend jen akbp akp kompol kombes iptu ipda aiptu aipda
    bripka brigpol briptu bripda mayjen letjen laksma laksda laksdya marsma marsda
    marsdya kol letkol kapt lettu letda serma serka sertu serda kopda koptu kopka
    praka pratu prada peltu pelda
    inf kav arm art czi chb cpl kes pom arh adm pnb tek lek sus psk cba cku cpm ctp
    no nomor jl jln gg kp komp kec kab kel ds dsn prov
    rp tgl thn hlm hal telp tlp fax ext ref vol ps
    jan feb mar apr jun jul agu agt ags aug sep sept okt oct nov des dec
    a.n u.p s.d d.a c.q q.q a.l u.b
    st mr mrs ms vs
""".split())

# Academic degrees, dots removed and lowercased. They end a sentence only in the
# ``Name, S.H., M.Si.`` position (see the module docstring).
_DEGREES = frozenset("""
    sh mh se me st mt ssos msos ssi msi sip mip spd mpd sag mag skom mkom skep mkep
    spsi mpsi shut sked skes mkes sfarm sak mak sth spt sp mp ssn msn sikom mikom
    shum mhum sstat str sap map mm ma msc bsc phd lc sik shi skp mkn ssy mec ak skm
    mkm sgz mse mpa mba stp mtr sstp msp sian spi skg sh.i apt
""".split())

# Capitalised attribution verbs that, right after a closing quote, continue the quote's
# sentence (``“Siap!” Ujarnya.``). ``Kata`` is left out: ``Kata Kapolres, ...`` is an
# ordinary sentence opener.
_CAPITAL_ATTRIBUTIONS = frozenset("""
    ujar ujarnya katanya ucap ucapnya tutur tuturnya tandas tandasnya imbuh imbuhnya
    pungkas pungkasnya ungkapnya terangnya sebutnya paparnya tambahnya serunya
    tegasnya jelasnya bebernya urainya kilahnya harapnya pintanya ajaknya
""".split())

# Nouns that name things with a bare capital letter, so ``hari H.`` or ``Blok A.``
# can end a sentence although ``M.`` after most words is an initial.
_LETTER_NAMED_NOUNS = frozenset("""
    hari jam blok kelas tipe golongan zona grup kategori ring paslon nomor no pasal huruf
""".split())

# Words that continue an ALL-CAPS letterhead title instead of starting the body.
_TITLE_CONTINUATIONS = frozenset("nomor no tahun tentang tanggal tgl perihal hal".split())

# Words a title-case heading may keep lowercase.
_HEADING_SMALL_WORDS = frozenset("""
    di ke dan yang untuk dari pada dengan dalam oleh atau bagi agar akan jelang usai
    saat hingga sampai soal tak tidak bisa lewat demi antara terhadap tentang serta
    kepada para sebagai ini itu jadi masih belum harus kian makin the of and
""".split())

_DOTTED = re.compile(r"(?:[^\W\d_]{1,4}\.)+[^\W\d_]{1,4}")
_URLISH = re.compile(
    r"[\w-]+(?:\.[\w-]+)*\.(?:id|com|net|org|co|io|info|gov|edu|ac|go|sch|or|web|my|"
    r"news|tv|xyz|biz|me|ly)(?:[/?#]\S*)?")
# A bare item number or letter: what a sentence that must not end yet consists of.
_ENUMERATOR = re.compile(r"[(\[]?(?:\d{1,3}|[^\W\d_]|[ivxlcIVXLC]{1,6})[)\]]?")
# A list-item number inside running text (``... berikut: 1. Seluruh ASN``).
_INLINE_ITEM = re.compile(r"\(?(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)]|\([A-Za-z0-9]\)|[A-Z]\)")
# Mixed-case words that start lowercase but are names, so they may start a sentence.
_MIXED_CASE = re.compile(r"[a-z]{1,2}-?[A-Z]")
# Editor and agency codes that close an article (``(*)``, ``(ant/dil)``, ``***``), and
# the short credit lines news sites close with, ``(Humas Polres Berau)``, ``(Penulis
# adalah dosen ...)``: a bracketed stretch of at most 120 characters with a letter in
# it and no sentence end inside. Only ever matched against a bounded slice.
_EDITOR_CODE = re.compile(
    r"\(\s*\*{1,3}\s*\)|\*{2,3}"
    r"|\((?=[^)]*[^\W\d_])(?:[^()\n.!?…]|\.(?=\S)){1,118}\)"
    r"|\[(?=[^\]]*[^\W\d_])(?:[^\[\]\n.!?…]|\.(?=\S)){1,118}\]")
_EDITOR_MAX = 122
# List items: a bullet, or a number/letter/roman numeral with ``.`` or ``)``, followed
# by whitespace or the end of the line. ``A.``-style capital letters are handled apart.
_LIST_MARKER = re.compile(
    r"(?:[-–—•●◦▪▫■□‣⁃∙·*➢➤►▶✓✔☑]"
    r"|\(?\d{1,3}[.)]|\(\d{1,3}\)"
    r"|\(?[a-z][.)]|\([A-Za-z]\)|[A-Z]\)"
    r"|\(?(?:[ivxlc]{1,6}|[IVXLC]{2,6})[.)])"
    r"(?=\s|$)")
_CAPITAL_LETTER_MARKER = re.compile(r"(?:[A-Z]\.)(?=\s|$)")


# --------------------------------------------------------------------------- helpers

def _strip_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` past surrounding whitespace (``start == end`` if blank)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _token_before(text: str, pos: int, lo: int) -> tuple[int, str]:
    """The whitespace-free token ending at ``pos`` (at most ``_LOOK`` chars, not before ``lo``)."""
    i = pos
    limit = max(lo, pos - _LOOK)
    while i > limit and not text[i - 1].isspace():
        i -= 1
    return i, text[i:pos]


def _previous_token(text: str, pos: int, lo: int) -> str:
    """The token before the whitespace that precedes ``pos`` ('' when none is near)."""
    i = pos
    limit = max(lo, pos - _LOOK)
    while i > limit and text[i - 1].isspace():
        i -= 1
    if i == pos or i <= lo:
        return ""
    return _token_before(text, i, lo)[1]


def _degree_key(word: str) -> str:
    return word.strip(".,;:").replace(".", "").lower()


def _never_ends_sentence(word: str, text: str, word_start: int, lo: int) -> bool:
    """True when ``word`` followed by a single ``.`` cannot end a sentence."""
    if len(word) > 40:
        return False
    lower = word.lower()
    if len(word) == 1 and word.isalpha():
        before = _previous_token(text, word_start, lo)
        if word.isupper():
            # An initial (``M. Yusuf``), except after the few nouns that take a bare
            # capital letter as a name: ``menjelang hari H.``, ``Blok A.``.
            return before.lower() not in _LETTER_NAMED_NOUNS
        # ``huruf h. Pelanggaran`` may end a sentence; ``berikut: a. Patroli`` does not.
        return before.endswith((":", ";", ","))
    if lower in _PREFIX_ABBREVIATIONS:
        return True
    if word.isdigit() and len(word) <= 2:
        # Inline enumeration after a colon or semicolon: ``Langkahnya: 1. patroli``.
        return _previous_token(text, word_start, lo).endswith((":", ";", ","))
    if "." in word:
        if "@" in word or "://" in word or lower.startswith("www.") or _URLISH.fullmatch(lower):
            return False  # a domain or e-mail is an ordinary last word
        if _DOTTED.fullmatch(word):
            if _degree_key(word) in _DEGREES:
                before = _previous_token(text, word_start, lo)
                after_name = before.endswith(",") or _degree_key(before) in _DEGREES
                return not after_name
            return True  # ``A.A.``, ``M.H.`` (Thamrin), ``a.n.``, ``e.g.``
    return False


def _next_token(text: str, n0: int, hi: int) -> tuple[int, int]:
    """(first significant char, end) of the token at ``n0``; opening quotes are skipped."""
    n1 = _TOKEN.match(text, n0, min(hi, n0 + _LOOK)).end()
    k = n0
    while k < n1 and text[k] in _OPENERS:
        k += 1
    return k, n1


def _starts_like_sentence(text: str, k: int, n1: int) -> bool:
    """Can the token whose first significant char is at ``k`` open a sentence?"""
    if k >= n1:
        return False
    first = text[k]
    if first.islower():
        return _MIXED_CASE.match(text, k, n1) is not None  # ``e-KTP``, ``iPhone``
    return first.isalnum()


def _item_follows(text: str, n0: int, hi: int) -> bool:
    """Is the token at ``n0`` a list-item number followed by a capitalised word?"""
    n1 = _TOKEN.match(text, n0, min(hi, n0 + 8)).end()
    if not _INLINE_ITEM.fullmatch(text, n0, n1):
        return False
    m = _WS.match(text, n1, hi)
    if m is None or m.end() >= hi:
        return False
    k, e = _next_token(text, m.end(), hi)
    return k < e and text[k].isupper()


def _split_here(text: str, p0: int, p1: int, c1: int, n0: int, lo: int, hi: int,
                sent_start: int) -> bool:
    """Decide whether a sentence ends after the end mark ``text[p0:p1]``.

    ``text[p1:c1]`` are closing quotes/brackets glued to it, ``n0`` is where the next
    token starts, ``[lo, hi)`` is the paragraph and ``sent_start`` where the current
    sentence began.
    """
    if hi - n0 <= _EDITOR_MAX and _EDITOR_CODE.fullmatch(text, n0, hi):
        return False  # ``... kata Helmy. (*)``: the code belongs to the last sentence
    k, n1 = _next_token(text, n0, hi)
    if k < n1 and text[k].islower() and _item_follows(text, n0, hi):
        return True  # ``... calon. b. Penggunaan aset ...``: the next list item
    if not _starts_like_sentence(text, k, n1):
        # Lowercase: attributions, inner ellipses, sloppy text. Symbols: ``#tag``,
        # ``@user``, emoji and dashes continue (or annotate) the sentence. Nothing but
        # quote marks: a detached closer (``siap. ” Kapolres``).
        return False
    nxt = text[n0:n1]
    if c1 > p1 and any(q in text[p1:c1] for q in "\"'”’»›") and not nxt.endswith(","):
        if nxt.rstrip(".!?;:").lower() in _CAPITAL_ATTRIBUTIONS:
            return False  # ``“Siap!” Ujarnya.``
    if p0 > lo and text[p0 - 1] in "[(":
        return False  # an elision ``[...]`` or ``(...)`` inside a sentence
    if p1 - p0 == 1 and text[p0] == ".":
        if p0 - sent_start <= 8 and _ENUMERATOR.fullmatch(text, sent_start, p0):
            return False  # ``1.`` / ``a.`` / ``IV.`` opening a list item
        w0, word = _token_before(text, p0, lo)
        stripped = word.lstrip(_OPENERS)
        if stripped and _never_ends_sentence(stripped, text, w0, lo):
            return False
        if stripped.rsplit("/", 1)[-1].lower() in ("rt", "rw") and text[k].isdigit():
            return False  # ``RT. 03/RW. 05`` is an address; ``ketua RT. Budi`` is an end
    return True


def _split_after_soft(text: str, s0: int, c1: int, n0: int, hi: int, sent_start: int) -> bool:
    """Does a sentence end after the emoji run or #tag/@mention ``text[s0:c1]``?

    Only before a capitalised word (``... jalan 😅 Salut ...``); never when the sentence
    so far is nothing but such tokens, so a leading emoji or bullet-like pictograph is
    not cut off on its own.
    """
    if hi - n0 <= _EDITOR_MAX and _EDITOR_CODE.fullmatch(text, n0, hi):
        return False
    k, n1 = _next_token(text, n0, hi)
    if k >= n1 or not text[k].isupper() or _SOFT_TOKEN.match(text, n0, n1):
        return False
    if c1 - sent_start <= _LOOK and all(
            _SOFT_TOKEN.fullmatch(t) for t in text[sent_start:c1].split()):
        return False
    return True


def _heading_end(text: str, lo: int, hi: int) -> tuple[int, int] | None:
    """An ALL-CAPS title at the paragraph start whose line break was lost.

    ``SURAT EDARAN BUPATI ... NOMOR 7 TAHUN 2024 Dalam rangka ...``: four or more tokens
    without a lowercase letter (three of them words), then a capitalised word with
    lowercase letters -- but not ``Nomor``/``Tahun``/``tentang``, which continue a
    letterhead title (``SURAT EDARAN BUPATI SINJAI Nomor 141/07 tentang ...`` is one
    sentence). Returns (end of the title, start of the next sentence). A dash
    or colon in the run (a dateline: ``TULANG BAWANG BARAT – Kapolres``) or an end mark
    (the ordinary rules apply) rules it out.
    """
    pos, tokens, words = lo, 0, 0
    last_end = lo
    while pos < hi and tokens < 40:
        end = _TOKEN.match(text, pos, min(hi, pos + _LOOK)).end()
        token = text[pos:end]
        if any(ch.islower() for ch in token):
            if (tokens >= 4 and words >= 3 and token[0].isupper()
                    and token.rstrip(".,:").lower() not in _TITLE_CONTINUATIONS):
                return last_end, pos
            return None
        if token in "–—-" or token[-1] in _TERMINAL + ":" or end - pos >= _LOOK:
            return None
        tokens += 1
        words += any(ch.isalpha() for ch in token)
        last_end = end
        m = _WS.match(text, end, hi)
        if m is None:
            return None
        pos = m.end()
    return None


def _sentence_bounds(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Sentence bounds inside the stripped paragraph ``[lo, hi)``."""
    bounds: list[tuple[int, int]] = []
    sent_start = lo
    heading = _heading_end(text, lo, hi)
    if heading is not None:
        bounds.append((lo, heading[0]))
        sent_start = heading[1]
    for m in _CANDIDATE.finditer(text, sent_start, hi):
        c1 = m.end()
        n0 = _WS.match(text, c1, hi).end()
        if n0 >= hi:
            break
        kind = m.lastgroup
        if kind == "end":
            p1 = c1
            while p1 > m.start() and text[p1 - 1] in _CLOSERS:
                p1 -= 1
            split = _split_here(text, m.start(), p1, c1, n0, lo, hi, sent_start)
        elif kind == "soft":
            split = _split_after_soft(text, m.start(), c1, n0, hi, sent_start)
        else:  # ``berikut: 1. Seluruh ASN ...`` -- a list item starts
            split = _item_follows(text, n0, hi)
        if split:
            bounds.append((sent_start, c1))
            sent_start = n0
    bounds.append((sent_start, hi))
    return bounds


# --------------------------------------------------------------------------- lines

def _is_list_line(text: str, s: int, e: int, previous: tuple[int, int, bool] | None) -> bool:
    """Does the stripped line ``[s, e)`` start with a list marker?

    ``previous`` is the line before as (start, end, is_list); a capital ``A.`` counts as
    a marker only after another item or a line ending in ``:``.
    """
    if _LIST_MARKER.match(text, s, e):
        return True
    if _CAPITAL_LETTER_MARKER.match(text, s, e) and previous is not None:
        ps, pe, was_list = previous
        return was_list or (pe > ps and text[pe - 1] == ":")
    return False


def _is_marker_only(text: str, s: int, e: int) -> bool:
    m = _LIST_MARKER.match(text, s, e) or _CAPITAL_LETTER_MARKER.match(text, s, e)
    return m is not None and m.end() == e


def _is_editor_code(text: str, s: int, e: int) -> bool:
    return e - s <= _EDITOR_MAX and _EDITOR_CODE.fullmatch(text, s, e) is not None


def _starts_capital(text: str, s: int, e: int) -> bool:
    k = s
    while k < e and text[k] in _OPENERS:
        k += 1
    return k < e and (text[k].isupper() or text[k].isdigit())


def _is_heading(text: str, s: int, e: int) -> bool:
    """A short title-case or ALL-CAPS line without an end mark."""
    if e - s > 150 or text[e - 1] in _TERMINAL + ",;:–—-/&(":
        return False
    words = text[s:e].split()
    if len(words) > 16:
        return False
    alpha = [w.lstrip(_OPENERS) for w in words]
    alpha = [w for w in alpha if w and w[0].isalpha()]
    if not alpha:
        return False
    if alpha[-1].lower() in _PREFIX_ABBREVIATIONS:
        return False  # ``Kapolda Lampung Irjen Pol`` is a wrapped name, not a title
    capitals = 0
    for w in alpha:
        if w[0].isupper():
            capitals += 1
        elif w.lower() not in _HEADING_SMALL_WORDS:
            return False
    return capitals * 5 >= len(alpha) * 3


def _ends_sentence(text: str, s: int, e: int, n0: int, hi: int) -> bool:
    """Does the line ``[s, e)`` end a sentence, given the next line starts at ``n0``?"""
    c1 = e
    p1 = c1
    while p1 > s and text[p1 - 1] in _CLOSERS:
        p1 -= 1
    p0 = p1
    while p0 > s and text[p0 - 1] in _TERMINAL:
        p0 -= 1
    if p0 < p1:
        return _split_here(text, p0, p1, c1, n0, s, hi, s)
    # A post line ending in an emoji or a tag, before a capitalised line.
    t0, token = _token_before(text, e, s)
    soft = _TRAILING_SOFT.search(token)
    return soft is not None and _split_after_soft(text, t0 + soft.start(), e, n0, hi, s)


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every stretch between blank lines (may still carry outer spaces)."""
    pos = 0
    for m in _BLANK_LINES.finditer(text):
        yield pos, m.start()
        pos = m.end()
    yield pos, len(text)


def _block_lines(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Stripped (start, end) of the lines of a block; none of them is blank."""
    lines = []
    pos = lo
    for m in _LINE_BREAKS.finditer(text, lo, hi):
        lines.append(_strip_bounds(text, pos, m.start()))
        pos = m.end()
    lines.append(_strip_bounds(text, pos, hi))
    return [(s, e) for s, e in lines if e > s]


def _paragraph_bounds(text: str) -> list[tuple[int, int]]:
    paragraphs: list[tuple[int, int]] = []
    for lo, hi in _blocks(text):
        block = _block_lines(text, lo, hi)
        if not block:
            continue
        block_end = block[-1][1]
        para_start = block[0][0]
        para_is_list = False
        prev: tuple[int, int, bool] | None = None
        for k, (s, e) in enumerate(block):
            is_list = _is_list_line(text, s, e, prev)
            if k == 0:
                para_is_list = is_list
            else:
                ps, pe, _ = prev  # type: ignore[misc]
                if _break_between(text, ps, pe, s, e, is_list, para_start, para_is_list,
                                  k == len(block) - 1, block_end):
                    paragraphs.append((para_start, pe))
                    para_start = s
                    para_is_list = is_list
            prev = (s, e, is_list)
        paragraphs.append((para_start, block_end))
    # A block that is only an editor code closes the paragraph before it.
    merged: list[tuple[int, int]] = []
    for s, e in paragraphs:
        if merged and _is_editor_code(text, s, e):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _break_between(text: str, ps: int, pe: int, s: int, e: int, next_is_list: bool,
                   para_start: int, para_is_list: bool, next_is_last: bool,
                   block_end: int) -> bool:
    """Is the single line break between line ``[ps, pe)`` and line ``[s, e)`` a paragraph break?"""
    if _is_marker_only(text, ps, pe):
        return False  # ``1.`` alone on a line numbers the next line
    if _is_editor_code(text, ps, pe):
        return True  # ``(*)`` ends an article
    if next_is_list:
        return True
    if next_is_last and _is_editor_code(text, s, e):
        return False
    capital = _starts_capital(text, s, e)
    if capital and ps == para_start and _is_heading(text, ps, pe):
        return True
    if capital and para_is_list:
        return True  # ``- Patroli skala besar`` then prose
    if capital and text[pe - 1] == ":":
        return True  # ``... menginstruksikan:`` then an unnumbered item on its own line
    return _ends_sentence(text, ps, pe, s, block_end)


# --------------------------------------------------------------------------- public API

def split_paragraphs(text: str) -> list[Span]:
    """Split ``text`` into paragraphs.

    Blank lines separate paragraphs; a single line break does too after a sentence end,
    before a list item, after a heading or editor code, and between list items and prose
    (see the module docstring). Each bullet or numbered item is its own paragraph.
    """
    return [Span(s, e, text[s:e]) for s, e in _paragraph_bounds(text)]


def split_sentences(text: str) -> list[Span]:
    """Split ``text`` into sentences with exact offsets into ``text``.

    Sentences never cross paragraph boundaries (:func:`split_paragraphs`); inside a
    paragraph, line breaks are ordinary whitespace.
    """
    spans: list[Span] = []
    for lo, hi in _paragraph_bounds(text):
        for s, e in _sentence_bounds(text, lo, hi):
            spans.append(Span(s, e, text[s:e]))
    return spans


def split_units(text: str, unit: str) -> list[Span]:
    """Split ``text`` into ``unit``\\ s: ``"sentence"``, ``"paragraph"`` or ``"document"``.

    ``"document"`` is the whole text without surrounding whitespace (no span when the
    text is blank). Any other unit raises :class:`ValueError` naming the allowed ones.
    """
    if unit == "sentence":
        return split_sentences(text)
    if unit == "paragraph":
        return split_paragraphs(text)
    if unit == "document":
        s, e = _strip_bounds(text, 0, len(text))
        return [Span(s, e, text[s:e])] if e > s else []
    raise ValueError(f"unknown unit {unit!r}; expected one of: {', '.join(UNITS)}")
