import itertools
import random

from waspada.train.corpus_checks import jaccard, near_duplicate_pairs, normalised_tokens, opening_report


def brute_force(texts, threshold=0.7):
    sets = [set(normalised_tokens(t)) for t in texts]
    return sorted((i, j, jaccard(sets[i], sets[j])) for i, j in itertools.combinations(range(len(texts)), 2)
                  if jaccard(sets[i], sets[j]) >= threshold)


def test_prefix_filtering_finds_exactly_the_brute_force_pairs():
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(30)]
    texts = [" ".join(rng.sample(vocab, rng.randint(1, 9))) for _ in range(300)]
    texts += [t + " w0" for t in texts[:40]]  # guaranteed near-duplicates
    found = near_duplicate_pairs(texts)
    expected = brute_force(texts)
    assert [(i, j) for i, j, _ in found] == [(i, j) for i, j, _ in expected]
    assert len(found) >= 40


def test_normalisation_ignores_case_and_punctuation():
    pairs = near_duplicate_pairs(["Patroli malam, ditambah!", "patroli MALAM ditambah", "Netralitas ASN"])
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]


def test_opening_report():
    texts = ["Kapolres meminta warga tenang."] * 3 + ["Warga diminta tenang.", "Ya."]
    report = opening_report(texts)
    assert report.top[0] == ("kapolres meminta warga", 3)
    assert report.max_share == 3 / 5
