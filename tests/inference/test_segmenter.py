"""Sentence and paragraph segmentation of Indonesian election-security text.

Every case in the table is authored for this test (not copied from the web). Each row
is (input, expected sentences); every row is also run through the offset invariants,
random mutation, and a 2 MB concatenation.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from pathlib import Path

import pytest

from waspada.inference.segmenter import (
    UNITS,
    Span,
    split_paragraphs,
    split_sentences,
    split_units,
)

REPO = Path(__file__).resolve().parents[2]
SEED_DIR = REPO.parent / "shared" / "seed"


# ----------------------------------------------------------------------------- helpers

def assert_spans_valid(text: str, spans: list[Span]) -> None:
    """Exact offsets, in order, no overlap, stripped, and nothing visible dropped."""
    pos = 0
    for span in spans:
        assert isinstance(span, Span)
        assert text[span.start:span.end] == span.text, span
        assert span.text, "empty span"
        assert span.text == span.text.strip(), f"unstripped span {span.text!r}"
        assert span.start >= pos, f"overlap or disorder at {span}"
        gap = text[pos:span.start]
        assert gap.strip() == "", f"lost characters {gap!r} before {span.text!r}"
        pos = span.end
    tail = text[pos:]
    assert tail.strip() == "", f"lost characters {tail!r} at the end"


def assert_all_valid(text: str) -> tuple[list[Span], list[Span]]:
    sentences = split_sentences(text)
    paragraphs = split_paragraphs(text)
    assert_spans_valid(text, sentences)
    assert_spans_valid(text, paragraphs)
    # Every sentence lies inside exactly one paragraph.
    j = 0
    for s in sentences:
        while j < len(paragraphs) and paragraphs[j].end < s.end:
            j += 1
        assert j < len(paragraphs), f"sentence {s.text!r} outside every paragraph"
        assert paragraphs[j].start <= s.start and s.end <= paragraphs[j].end, (
            f"sentence {s.text!r} crosses a paragraph boundary")
    docs = split_units(text, "document")
    assert_spans_valid(text, docs)
    assert len(docs) == (1 if text.strip() else 0)
    return sentences, paragraphs


def texts(spans: list[Span]) -> list[str]:
    return [s.text for s in spans]


# ----------------------------------------------------------------------------- table

CASES = [
    # --- TNI corps abbreviations after a rank ----------------------------------------
    pytest.param(
        "Dandim 1207 Letkol Inf. Yosafat Rumbino meninjau TPS. Pengamanan dibantu Koramil.",
        ["Dandim 1207 Letkol Inf. Yosafat Rumbino meninjau TPS.", "Pengamanan dibantu Koramil."],
        id="tni-corps-abbreviation"),
    # --- quotations -------------------------------------------------------------
    pytest.param(
        "“Kita jaga bersama. Wujudkan pilkada yang aman,” ujarnya saat memimpin apel di Mapolres.",
        ["“Kita jaga bersama.", "Wujudkan pilkada yang aman,” ujarnya saat memimpin apel di Mapolres."],
        id="quote-multi-sentence-attribution-last"),
    pytest.param(
        "“Kami siap.” kata Kapolres.",
        ["“Kami siap.” kata Kapolres."],
        id="quote-period-lowercase-kata"),
    pytest.param(
        "“Jangan terprovokasi!” tegasnya di hadapan peserta. “Laporkan bila ada intimidasi?” tanya wartawan.",
        ["“Jangan terprovokasi!” tegasnya di hadapan peserta.",
         "“Laporkan bila ada intimidasi?” tanya wartawan."],
        id="quote-bang-and-question-attribution"),
    pytest.param(
        '"TPS harus steril dari atribut." imbuh Ketua Bawaslu. "Pengawas kami turun sejak pagi."',
        ['"TPS harus steril dari atribut." imbuh Ketua Bawaslu.', '"Pengawas kami turun sejak pagi."'],
        id="straight-quotes"),
    pytest.param(
        "“Patroli jalan terus. Posko siaga dibuka 24 jam. Warga bisa melapor kapan saja,” seru Dandim.",
        ["“Patroli jalan terus.", "Posko siaga dibuka 24 jam.",
         "Warga bisa melapor kapan saja,” seru Dandim."],
        id="quote-three-sentences"),
    pytest.param(
        "“Siap!” Ujarnya singkat. Kapolres lalu meninggalkan lokasi.",
        ["“Siap!” Ujarnya singkat.", "Kapolres lalu meninggalkan lokasi."],
        id="quote-capitalised-attribution-verb"),
    pytest.param(
        "“Semua personel siaga.” Kapolres juga meminta warga tenang.",
        ["“Semua personel siaga.”", "Kapolres juga meminta warga tenang."],
        id="quote-then-new-sentence"),
    pytest.param(
        "“Netral itu harga mati.” Tegasnya, anggota yang melanggar akan diperiksa Propam.",
        ["“Netral itu harga mati.”", "Tegasnya, anggota yang melanggar akan diperiksa Propam."],
        id="quote-then-discourse-tegasnya-comma"),
    # --- titles, abbreviations, initials ---------------------------------------
    pytest.param(
        "Kapolda Irjen Pol. Rudi Hartono didampingi Brigjen. TNI Agus dan AKBP. Fajar meninjau gudang logistik. Semua kotak suara tersegel.",
        ["Kapolda Irjen Pol. Rudi Hartono didampingi Brigjen. TNI Agus dan AKBP. Fajar meninjau gudang logistik.",
         "Semua kotak suara tersegel."],
        id="ranks-with-dots"),
    pytest.param(
        "Sosialisasi dibuka Prof. Dr. Ir. H. Bambang Wijaya, S.H., M.Si. Acara berlangsung tertib.",
        ["Sosialisasi dibuka Prof. Dr. Ir. H. Bambang Wijaya, S.H., M.Si.", "Acara berlangsung tertib."],
        id="titles-and-degree-at-sentence-end"),
    pytest.param(
        "Kasat Binmas AKP Dedi Kurnia, S.I.K., M.H. memberikan penyuluhan. Drs. Hj. Rina, S.IP. turut hadir.",
        ["Kasat Binmas AKP Dedi Kurnia, S.I.K., M.H. memberikan penyuluhan.",
         "Drs. Hj. Rina, S.IP. turut hadir."],
        id="degrees-before-lowercase"),
    pytest.param(
        "Konvoi melintas di Jl. M.H. Thamrin No. 8 Kel. Gedong Air Kec. Tanjung Karang Barat Kab. Pesawaran. Arus lalu lintas dialihkan.",
        ["Konvoi melintas di Jl. M.H. Thamrin No. 8 Kel. Gedong Air Kec. Tanjung Karang Barat Kab. Pesawaran.",
         "Arus lalu lintas dialihkan."],
        id="address-abbreviations-and-initial-street"),
    pytest.param(
        "Surat itu ditandatangani a.n. Ketua KPU u.p. Kabag Hukum, tgl. 12 Oktober, hlm. 3. Salinannya dikirim ke Yth. Bpk. Camat dan Sdr. Lurah Ds. Sukamaju.",
        ["Surat itu ditandatangani a.n. Ketua KPU u.p. Kabag Hukum, tgl. 12 Oktober, hlm. 3.",
         "Salinannya dikirim ke Yth. Bpk. Camat dan Sdr. Lurah Ds. Sukamaju."],
        id="letter-abbreviations"),
    pytest.param(
        "Tokoh adat I Gusti A.A. Gde Rai bertemu M. Yusuf dan St. Nurhaliza di balai desa. Pertemuan berlangsung akrab.",
        ["Tokoh adat I Gusti A.A. Gde Rai bertemu M. Yusuf dan St. Nurhaliza di balai desa.",
         "Pertemuan berlangsung akrab."],
        id="initials"),
    pytest.param(
        "Petugas menyita spanduk, baliho, stiker, dll. Semua barang bukti dibawa ke kantor Panwascam. Kegiatan serupa digelar Babinsa, Linmas, dsb. dengan pendampingan polisi.",
        ["Petugas menyita spanduk, baliho, stiker, dll.", "Semua barang bukti dibawa ke kantor Panwascam.",
         "Kegiatan serupa digelar Babinsa, Linmas, dsb. dengan pendampingan polisi."],
        id="dll-ends-dsb-continues"),
    pytest.param(
        "Kajian itu ditulis Hasan dkk. Hasilnya dipaparkan di depan Bawaslu.",
        ["Kajian itu ditulis Hasan dkk.", "Hasilnya dipaparkan di depan Bawaslu."],
        id="dkk-at-sentence-end"),
    pytest.param(
        "Dana pengamanan sebesar Rp. 1,2 miliar dicairkan. Rp 300 juta di antaranya untuk konsumsi personel.",
        ["Dana pengamanan sebesar Rp. 1,2 miliar dicairkan.", "Rp 300 juta di antaranya untuk konsumsi personel."],
        id="rupiah"),
    pytest.param(
        "Personel berjaga sampai hari H. Kapolsek memantau dari posko. Warga RT. 04/RW. 02 ikut ronda, dipimpin ketua RT. Budi juga hadir.",
        ["Personel berjaga sampai hari H.", "Kapolsek memantau dari posko.",
         "Warga RT. 04/RW. 02 ikut ronda, dipimpin ketua RT.", "Budi juga hadir."],
        id="hari-H-and-RT-RW"),
    # --- numbers, dates, times, web ---------------------------------------------
    pytest.param(
        "Pemungutan suara digelar Rabu (27/11/2024). TPS dibuka pukul 07.00 WIB dan ditutup pukul 13.00 WIB.",
        ["Pemungutan suara digelar Rabu (27/11/2024).", "TPS dibuka pukul 07.00 WIB dan ditutup pukul 13.00 WIB."],
        id="date-in-parens-ends-sentence-and-times"),
    pytest.param(
        "Sebanyak 1.500 personel gabungan dikerahkan. 250 di antaranya anggota TNI. Apel digelar 19.30 di lapangan.",
        ["Sebanyak 1.500 personel gabungan dikerahkan.", "250 di antaranya anggota TNI.",
         "Apel digelar 19.30 di lapangan."],
        id="thousands-and-number-starts-sentence"),
    pytest.param(
        "Anggaran hibah Pilkada naik menjadi Rp 2,4 miliar. Partisipasi pemilih naik 3.5 persen dibanding 2019.",
        ["Anggaran hibah Pilkada naik menjadi Rp 2,4 miliar.", "Partisipasi pemilih naik 3.5 persen dibanding 2019."],
        id="decimals"),
    pytest.param(
        "Rekapitulasi bisa dipantau di https://pilkada2024.kpu.go.id/. Aduan dikirim ke humas@bawaslu.go.id. Simak juga www.polri.go.id. Terima kasih.",
        ["Rekapitulasi bisa dipantau di https://pilkada2024.kpu.go.id/.", "Aduan dikirim ke humas@bawaslu.go.id.",
         "Simak juga www.polri.go.id.", "Terima kasih."],
        id="urls-and-emails"),
    pytest.param(
        "Info lengkap ada di kpu.go.id. Portal itu diperbarui tiap jam.",
        ["Info lengkap ada di kpu.go.id.", "Portal itu diperbarui tiap jam."],
        id="bare-domain-at-sentence-end"),
    pytest.param(
        "Larangan itu diatur Pasal 280 ayat (1) huruf h. Pelanggarnya terancam pidana.",
        ["Larangan itu diatur Pasal 280 ayat (1) huruf h.", "Pelanggarnya terancam pidana."],
        id="legal-letter-at-sentence-end"),
    # --- ellipses ----------------------------------------------------------------
    pytest.param(
        "Logistik sudah tiba... tapi kotak suara belum dirakit. Hujan turun deras… petugas tetap bertahan.",
        ["Logistik sudah tiba... tapi kotak suara belum dirakit.",
         "Hujan turun deras… petugas tetap bertahan."],
        id="ellipsis-inside-sentence"),
    pytest.param(
        "Kami sudah menunggu sejak subuh... Petugas akhirnya datang pukul 08.00.",
        ["Kami sudah menunggu sejak subuh...", "Petugas akhirnya datang pukul 08.00."],
        id="ellipsis-before-capital-ends"),
    pytest.param(
        "Ia membacakan kutipan undang-undang [...] lalu menutup rapat. Rapat bubar pukul 16.00.",
        ["Ia membacakan kutipan undang-undang [...] lalu menutup rapat.", "Rapat bubar pukul 16.00."],
        id="bracketed-elision"),
    # --- lists ---------------------------------------------------------------------
    pytest.param(
        "Kapolres memberikan tiga arahan:\n1. Laksanakan patroli skala besar.\n2. Jaga netralitas.\n3. Laporkan potensi kerawanan\nApel ditutup dengan doa.",
        ["Kapolres memberikan tiga arahan:", "1. Laksanakan patroli skala besar.", "2. Jaga netralitas.",
         "3. Laporkan potensi kerawanan", "Apel ditutup dengan doa."],
        id="numbered-list"),
    pytest.param(
        "Sasaran pengawasan:\na. politik uang;\nb. kampanye hitam;\nc. ujaran kebencian di media sosial.",
        ["Sasaran pengawasan:", "a. politik uang;", "b. kampanye hitam;", "c. ujaran kebencian di media sosial."],
        id="lettered-list-lowercase-items"),
    pytest.param(
        "- patroli siber\n- sambang tokoh agama\n• pengecekan gudang logistik KPU",
        ["- patroli siber", "- sambang tokoh agama", "• pengecekan gudang logistik KPU"],
        id="bullets"),
    pytest.param(
        "1.\nPatroli dialogis di titik rawan.\n2.\nSambang ke rumah tokoh masyarakat.",
        ["1.\nPatroli dialogis di titik rawan.", "2.\nSambang ke rumah tokoh masyarakat."],
        id="item-number-alone-on-its-line"),
    pytest.param(
        "Langkah yang diambil sebagai berikut. 1. Patroli rutin. 2. Sambang warga. Semua dilaporkan harian.",
        ["Langkah yang diambil sebagai berikut.", "1. Patroli rutin.", "2. Sambang warga.", "Semua dilaporkan harian."],
        id="inline-numbered-items"),
    pytest.param(
        "Dengan ini disampaikan: a. Kepala desa dilarang berkampanye. b. Aset desa tidak boleh dipakai untuk kampanye.",
        ["Dengan ini disampaikan:", "a. Kepala desa dilarang berkampanye.",
         "b. Aset desa tidak boleh dipakai untuk kampanye."],
        id="inline-lettered-items-after-colon"),
    pytest.param(
        "Fokus kegiatan: 1. patroli; 2. sambang; 3. penyuluhan.",
        ["Fokus kegiatan: 1. patroli; 2. sambang; 3. penyuluhan."],
        id="inline-lowercase-enumeration-stays"),
    pytest.param(
        "- Patroli skala besar di 12 kecamatan\nKapolda juga meminta jajaran menjaga netralitas.",
        ["- Patroli skala besar di 12 kecamatan", "Kapolda juga meminta jajaran menjaga netralitas."],
        id="list-item-then-prose"),
    pytest.param(
        "Hadir dalam rapat: Kapolres, Dandim, dan Ketua Bawaslu.",
        ["Hadir dalam rapat: Kapolres, Dandim, dan Ketua Bawaslu."],
        id="colon-then-capital-names-stays"),
    # --- datelines, headings, line breaks --------------------------------------
    pytest.param(
        "BANDAR LAMPUNG – Kapolda Lampung menginstruksikan patroli skala besar selama masa tenang.",
        ["BANDAR LAMPUNG – Kapolda Lampung menginstruksikan patroli skala besar selama masa tenang."],
        id="dateline"),
    pytest.param(
        "TULANG BAWANG BARAT – Polres menggelar simulasi sispamkota. Kegiatan diikuti 300 personel.",
        ["TULANG BAWANG BARAT – Polres menggelar simulasi sispamkota.", "Kegiatan diikuti 300 personel."],
        id="long-dateline-not-a-heading"),
    pytest.param(
        "Polda Siagakan Ribuan Personel Jelang Pencoblosan\nMETRO – Ribuan personel disiagakan di TPS rawan.",
        ["Polda Siagakan Ribuan Personel Jelang Pencoblosan", "METRO – Ribuan personel disiagakan di TPS rawan."],
        id="headline-line-then-dateline"),
    pytest.param(
        "Kapolres meminta seluruh Bhabinkamtibmas\nmenjaga kondusivitas hingga\nKPU menetapkan hasil. Patroli ditambah.",
        ["Kapolres meminta seluruh Bhabinkamtibmas\nmenjaga kondusivitas hingga\nKPU menetapkan hasil.",
         "Patroli ditambah."],
        id="soft-wrapped-lines-join"),
    pytest.param(
        "Patroli malam ditingkatkan.\nWarga diminta tidak terpancing hoaks.\n\nBawaslu membuka posko aduan.",
        ["Patroli malam ditingkatkan.", "Warga diminta tidak terpancing hoaks.", "Bawaslu membuka posko aduan."],
        id="one-paragraph-per-line-and-blank-line"),
    pytest.param(
        "INSTRUKSI BUPATI TANGGAMUS NOMOR 4 TAHUN 2024 TENTANG KETERTIBAN MASA TENANG Dalam rangka menjaga ketertiban, camat diminta siaga.",
        ["INSTRUKSI BUPATI TANGGAMUS NOMOR 4 TAHUN 2024 TENTANG KETERTIBAN MASA TENANG",
         "Dalam rangka menjaga ketertiban, camat diminta siaga."],
        id="caps-title-lost-line-break"),
    pytest.param(
        "SURAT EDARAN BUPATI PRINGSEWU Nomor 300/12/2024 tentang Netralitas ASN.",
        ["SURAT EDARAN BUPATI PRINGSEWU Nomor 300/12/2024 tentang Netralitas ASN."],
        id="caps-letterhead-continues-with-nomor"),
    pytest.param(
        "Camat menginstruksikan kepada kepala desa:\nMengaktifkan ronda malam selama masa tenang.",
        ["Camat menginstruksikan kepada kepala desa:", "Mengaktifkan ronda malam selama masa tenang."],
        id="colon-line-then-unnumbered-item"),
    # --- editor codes ---------------------------------------------------------------
    pytest.param(
        "Situasi di seluruh kecamatan aman terkendali. (*)",
        ["Situasi di seluruh kecamatan aman terkendali. (*)"],
        id="editor-code-star"),
    pytest.param(
        "Rekapitulasi berjalan lancar. (ant/dil)",
        ["Rekapitulasi berjalan lancar. (ant/dil)"],
        id="editor-code-agency"),
    pytest.param(
        "Seluruh kotak suara tiba di gudang KPU. (ANT)",
        ["Seluruh kotak suara tiba di gudang KPU. (ANT)"],
        id="editor-code-capitals"),
    pytest.param(
        "Kegiatan ditutup dengan doa bersama. (Humas Polres Pesawaran)",
        ["Kegiatan ditutup dengan doa bersama. (Humas Polres Pesawaran)"],
        id="editor-credit-line"),
    pytest.param(
        "Pengamanan berakhir tanpa insiden.\n\n(*)",
        ["Pengamanan berakhir tanpa insiden.\n\n(*)"],
        id="editor-code-after-blank-line"),
    pytest.param(
        "Pengamanan berakhir tanpa insiden.\n(rls)\nMETRO – Polres Metro menggelar apel.",
        ["Pengamanan berakhir tanpa insiden.\n(rls)", "METRO – Polres Metro menggelar apel."],
        id="editor-code-line-ends-article"),
    # --- social media, sloppy text ------------------------------------------------
    pytest.param(
        "ayo ke tps! jangan golput ya. #PemiluDamai2024 #JagaTPS",
        ["ayo ke tps! jangan golput ya. #PemiluDamai2024 #JagaTPS"],
        id="missing-capitals-hashtags"),
    pytest.param(
        "Antrean di TPS 05 panjang bgt 😅 Petugas KPPS sigap melayani 👍 #PilkadaDamai",
        ["Antrean di TPS 05 panjang bgt 😅", "Petugas KPPS sigap melayani 👍 #PilkadaDamai"],
        id="emoji-ends-sentence-before-capital"),
    pytest.param(
        "Masa kampanye resmi dimulai hari ini! 🇮🇩 Yuk jadi pemilih cerdas, cek fakta sebelum berbagi.",
        ["Masa kampanye resmi dimulai hari ini! 🇮🇩", "Yuk jadi pemilih cerdas, cek fakta sebelum berbagi."],
        id="emoji-after-end-mark-attaches"),
    pytest.param(
        "Baliho masih berdiri di simpang tiga 🤔 #MasaTenang Tadi ada patroli lewat.",
        ["Baliho masih berdiri di simpang tiga 🤔 #MasaTenang", "Tadi ada patroli lewat."],
        id="hashtag-run-then-capital"),
    pytest.param(
        "Baru nyoblos di TPS 12, aman 👍\nPetugas KPPS ramah\nsemua tertib #PilkadaDamai",
        ["Baru nyoblos di TPS 12, aman 👍", "Petugas KPPS ramah\nsemua tertib #PilkadaDamai"],
        id="post-lines-emoji-end-vs-soft-wrap"),
    pytest.param(
        "🙏 Semoga pilkada aman dan damai.",
        ["🙏 Semoga pilkada aman dan damai."],
        id="leading-emoji-not-alone"),
    pytest.param(
        "Kotak suara sudah disegel. petugas lalu membawanya ke PPK.",
        ["Kotak suara sudah disegel. petugas lalu membawanya ke PPK."],
        id="sloppy-lowercase-after-period-not-split"),
    pytest.param(
        "Pemilih wajib membawa KTP. e-KTP yang rusak tetap dilayani.",
        ["Pemilih wajib membawa KTP.", "e-KTP yang rusak tetap dilayani."],
        id="mixed-case-word-starts-sentence"),
    pytest.param(
        "Benarkah ada serangan fajar?! Bawaslu langsung turun ke lokasi.",
        ["Benarkah ada serangan fajar?!", "Bawaslu langsung turun ke lokasi."],
        id="interrobang"),
    pytest.param(
        "Informasi itu tersebar di grup WA.Kapolsek meminta warga tenang.",
        ["Informasi itu tersebar di grup WA.Kapolsek meminta warga tenang."],
        id="no-space-after-period-not-split"),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_sentence_table(text: str, expected: list[str]) -> None:
    sentences, _ = assert_all_valid(text)
    assert texts(sentences) == expected


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40


# ----------------------------------------------------------------------------- paragraphs

def test_paragraphs_blank_lines_lines_lists_and_headings() -> None:
    text = (
        "Polda Siagakan Personel\n"
        "BANDAR LAMPUNG – Kapolda memimpin apel.\n"
        "Apel diikuti 900 personel gabungan dari\n"
        "Polri, TNI, dan Satpol PP.\n"
        "\n"
        "Arahan Kapolda:\n"
        "1. Patroli skala besar.\n"
        "2. Jaga netralitas.\n"
        "\n"
        "(*)\n"
    )
    paragraphs = split_paragraphs(text)
    assert_spans_valid(text, paragraphs)
    assert texts(paragraphs) == [
        "Polda Siagakan Personel",
        "BANDAR LAMPUNG – Kapolda memimpin apel.",
        "Apel diikuti 900 personel gabungan dari\nPolri, TNI, dan Satpol PP.",
        "Arahan Kapolda:",
        "1. Patroli skala besar.",
        "2. Jaga netralitas.\n\n(*)",
    ]


def test_paragraphs_crlf_and_whitespace_lines() -> None:
    text = "  Patroli digelar.\r\n \t \r\nWarga tenang.  \r\n"
    assert texts(split_paragraphs(text)) == ["Patroli digelar.", "Warga tenang."]
    assert texts(split_sentences(text)) == ["Patroli digelar.", "Warga tenang."]


def test_sentences_never_cross_blank_lines() -> None:
    text = "Kapolda Lampung meminta jajaran\n\nmenjaga netralitas."
    assert texts(split_sentences(text)) == ["Kapolda Lampung meminta jajaran", "menjaga netralitas."]


# ----------------------------------------------------------------------------- split_units

def test_split_units_dispatch() -> None:
    text = "  Patroli digelar. Warga tenang.\n\nPosko dibuka.  "
    assert split_units(text, "sentence") == split_sentences(text)
    assert split_units(text, "paragraph") == split_paragraphs(text)
    (doc,) = split_units(text, "document")
    assert doc == Span(2, len(text) - 2, text.strip())
    assert set(UNITS) == {"sentence", "paragraph", "document"}


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t"])
def test_blank_input_gives_no_spans(text: str) -> None:
    for unit in UNITS:
        assert split_units(text, unit) == []


def test_unknown_unit_names_allowed_ones() -> None:
    with pytest.raises(ValueError) as info:
        split_units("Patroli digelar.", "kalimat")
    message = str(info.value)
    assert "kalimat" in message
    for unit in UNITS:
        assert unit in message


def test_span_is_frozen() -> None:
    span = split_sentences("Patroli digelar.")[0]
    with pytest.raises(AttributeError):
        span.start = 3  # type: ignore[misc]


# ----------------------------------------------------------------------------- seed article

def test_seed_article_matches_labeled_sentences() -> None:
    text_path = SEED_DIR / "lampung-masa-tenang-2024.txt"
    labeled_path = SEED_DIR / "lampung-masa-tenang-2024.labeled.jsonl"
    if not (text_path.is_file() and labeled_path.is_file()):
        pytest.skip(f"seed article not present in {SEED_DIR}")
    text = text_path.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in labeled_path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    rows.sort(key=lambda r: r.get("sent_index", 0))
    expected = [r["text"] for r in rows]
    sentences, _ = assert_all_valid(text)
    assert texts(sentences) == expected


# ----------------------------------------------------------------------------- authored corpus

def _corpus_files() -> list[Path]:
    data = REPO / "data"
    files = sorted((data / "authored").glob("*.jsonl"))
    files += [data / f"{name}.jsonl" for name in ("train", "dev", "test")
              if (data / f"{name}.jsonl").is_file()]
    return files


def _corpus_documents(files: list[Path]) -> dict[str, list[str]]:
    """doc_id -> sentence texts in ``sent_index`` order.

    The split files repeat the authored records, so a document is taken from the first
    file that has it (authored first). Lines that do not parse are skipped: the
    authored files are written while the suite runs.
    """
    documents: dict[str, list[str]] = {}
    for path in files:
        found: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            try:
                row = json.loads(line)
                doc_id, sentence = str(row["doc_id"]), row["text"]
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(sentence, str) and sentence.strip():
                found[doc_id].append((int(row.get("sent_index", n)), sentence))
        for doc_id, rows in found.items():
            documents.setdefault(doc_id, [t for _, t in sorted(rows, key=lambda r: r[0])])
    return documents


def describe_disagreements(failures: list[tuple[str, list[str], list[str]]], limit: int = 8) -> str:
    """Readable report: for each document, the first sentence where we and the labels part."""
    lines = []
    for doc_id, expected, got in failures[:limit]:
        i = next((k for k, (e, g) in enumerate(zip(expected, got)) if e != g),
                 min(len(expected), len(got)))
        lines.append(f"  {doc_id}: {len(expected)} labeled vs {len(got)} split; first difference"
                     f" at #{i}:\n    labeled: {expected[i] if i < len(expected) else '<none>'!r}"
                     f"\n    split:   {got[i] if i < len(got) else '<none>'!r}")
    if len(failures) > limit:
        lines.append(f"  ... and {len(failures) - limit} more")
    return "\n".join(lines)


# Measured on the 450 authored documents present when this test was written: 433/450
# (96.2%) reproduce exactly. All 17 misses are sentence ends that only a line break
# marks, and the single-space join below erases it: social-media posts whose lines
# carry no end mark (9), unnumbered instruction items after a colon (4) and mixed-case
# letterhead titles (4). The threshold leaves room for new documents of those kinds.
CORPUS_MIN_AGREEMENT = 0.95


def test_authored_corpus_agreement() -> None:
    files = _corpus_files()
    if not files:
        pytest.skip("no authored corpus under data/")
    documents = _corpus_documents(files)
    if not documents:
        pytest.skip("authored corpus files hold no records yet")
    failures = []
    for doc_id, expected in sorted(documents.items()):
        joined = " ".join(expected)
        sentences = split_sentences(joined)
        assert_spans_valid(joined, sentences)
        got = texts(sentences)
        if got != expected:
            failures.append((doc_id, expected, got))
    agreement = 1 - len(failures) / len(documents)
    assert agreement >= CORPUS_MIN_AGREEMENT, (
        f"only {len(documents) - len(failures)}/{len(documents)} documents "
        f"({agreement:.1%}) reproduce exactly:\n{describe_disagreements(failures)}")


# ----------------------------------------------------------------------------- random input

_NOISE = [" ", "  ", "\n", "\n\n", "\t", "\r\n", "\u00a0", ".", ". ", "...", "…", "!", "?",
          "?!", "\"", "“", "”", "'", "’", "(", ")", "[", "]", ":", ";", ",", "-", "–", "•",
          "1.", "a.", "A.", "(*)", "(ant)", "#Pemilu", "@bawaslu", "😅", "🇮🇩", "\u200d",
          "\ufeff", "Dr.", "S.H.", "Rp.", "kata", "Kapolres", "x", "X", "7", "07.00", "www.a.id"]


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        pos = rng.randint(0, len(chars))
        if op < 0.55:
            chars[pos:pos] = list(rng.choice(_NOISE))
        elif op < 0.8 and chars:
            del chars[pos:pos + rng.randint(1, 4)]
        elif chars:
            k = min(pos, len(chars) - 1)
            chars[k] = chars[k].swapcase()
    return "".join(chars)


def test_random_mutations_keep_offsets_exact() -> None:
    rng = random.Random(20241127)
    inputs = [p.values[0] for p in CASES]
    for _ in range(12):
        for text in inputs:
            assert_all_valid(_mutate(rng, text))
    for _ in range(300):
        a, b = rng.choice(inputs), rng.choice(inputs)
        cut = rng.randint(0, len(a))
        assert_all_valid(a[:cut] + rng.choice(_NOISE) + b[rng.randint(0, len(b)):])
    for _ in range(400):
        soup = "".join(rng.choice(_NOISE) for _ in range(rng.randint(0, 40)))
        assert_all_valid(soup)


@pytest.mark.parametrize("text", [
    "1.", "1.\n", "-", "•", "(*)", "(*)\n\nPatroli.", ".", "...", "“”", "\"", "#tag", "😅",
    "1.\n2.\n3.", "A.\nB.", "Situasi aman.\n(*)\n(*)", "a. b. c. d.", "\n\n(*)\n\n(*)",
])
def test_odd_inputs_keep_offsets_exact(text: str) -> None:
    assert_all_valid(text)


# ----------------------------------------------------------------------------- size

def test_two_megabyte_input_is_correct() -> None:
    """A 2 MB input (the case table repeated) splits exactly as its parts do.

    The time is printed, not asserted (machines differ); about a second here.
    """
    inputs = [p.values[0] for p in CASES]
    expected_one = [s for p in CASES for s in p.values[1]]
    block = "\n\n".join(inputs) + "\n\n"
    copies = 2_000_000 // len(block) + 1
    text = block * copies
    started = time.perf_counter()
    sentences = split_sentences(text)
    elapsed = time.perf_counter() - started
    print(f"\nsplit_sentences: {len(text) / 1e6:.1f} MB in {elapsed:.2f} s")
    assert len(text) >= 2_000_000
    assert texts(sentences) == expected_one * copies
    assert_spans_valid(text, sentences)


# Hostile shapes, 200 kB each: enough that any quadratic step (a regex rescanning a long
# run from every offset, a look-around over the whole sentence) would take minutes,
# while the linear code takes well under a second each.
_HOSTILE = 200_000


@pytest.mark.parametrize("make", [
    lambda: "x" * _HOSTILE,
    lambda: "a. " * (_HOSTILE // 3),
    lambda: "Dr. " * (_HOSTILE // 4),
    lambda: "." * _HOSTILE,
    lambda: "." + ")" * _HOSTILE,
    lambda: "\n" * _HOSTILE,
    lambda: "\r\n \t" * (_HOSTILE // 4),
    lambda: "😅" * _HOSTILE,
    lambda: "😅 " * (_HOSTILE // 2),
    lambda: "#" * _HOSTILE,
    lambda: "KAPOLDA " * (_HOSTILE // 8),
    lambda: ("Patroli digelar" + "\n") * (_HOSTILE // 16),
    lambda: "1.\n" * (_HOSTILE // 3),
], ids=["one-token", "letter-items", "titles", "dots", "closers", "newlines", "blank-lines",
        "emoji-run", "emoji", "hashes", "caps", "unpunctuated-lines", "marker-lines"])
def test_hostile_inputs_stay_linear(make) -> None:
    text = make()
    started = time.perf_counter()
    sentences = split_sentences(text)
    paragraphs = split_paragraphs(text)
    print(f"\n{len(text) / 1e3:.0f} kB in {time.perf_counter() - started:.2f} s")
    assert_spans_valid(text, sentences)
    assert_spans_valid(text, paragraphs)
