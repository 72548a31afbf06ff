"""The Python API: load a model folder, label sentences and documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .backends import Backend, resolve_backend
from .errors import InputError, ModelFolderError
from .home import default_model_dir
from .metadata import ModelMetadata
from .segmenter import split_units

DEFAULT_WINDOW = 2048


@dataclass
class SentencePrediction:
    """Labels of one text and the score of every label."""

    text: str
    labels: list[str]
    scores: dict[str, float]


@dataclass
class SentenceResult(SentencePrediction):
    """A labeled unit (sentence, paragraph or document) of a document, with its place in it."""

    doc_id: str = ""
    index: int = 0
    """Position of the unit within its document, from 0."""
    start: int = 0
    """Character offset of the unit in the document text; ``text == document[start:end]``."""
    end: int = 0
    fields: dict[str, Any] = field(default_factory=dict)
    """Extra fields of the input document (date, source, url...), carried along."""


class Classifier:
    """A waspada model ready to label text.

    >>> clf = Classifier.load("runs/indobert-base")          # doctest: +SKIP
    >>> clf.predict(["Patroli malam ditambah menjadi tiga kali."])[0].labels   # doctest: +SKIP
    ['preventive']
    """

    def __init__(self, backend: Backend, metadata: ModelMetadata, model_dir: Path) -> None:
        self.backend = backend
        self.metadata = metadata
        self.model_dir = model_dir
        self.labels: list[str] = list(metadata.labels)
        self.thresholds = np.asarray(metadata.thresholds, dtype=np.float32)

    @classmethod
    def load(cls, path: str | Path | None = None, *, backend: str | None = None,
             **options: Any) -> "Classifier":
        """Load a model folder (``None`` = the default model built by ``waspada quickstart``).

        ``backend`` is ``"torch"`` (default for fine-tuned encoders), ``"onnx"``,
        ``"onnx-int8"`` or ``"tfidf"`` (the baseline); ``options`` go to the back end
        (``batch_size``, ``threads``, ``device``, ``max_batch_tokens``: the cap on a
        batch's padded tokens, by default 1,024 x 768 / hidden size on CPU and none on GPU).
        """
        model_dir = Path(path) if path is not None else default_model_dir()
        if not model_dir.is_dir():
            hint = ("run `waspada quickstart` to build the default model"
                    if path is None else "check the path")
            raise ModelFolderError(f"model folder {model_dir} does not exist; {hint}")
        metadata = ModelMetadata.load(model_dir)
        name = backend or ("tfidf" if metadata.kind == "tfidf" else "torch")
        if (metadata.kind == "tfidf") != (name == "tfidf"):
            raise ModelFolderError(
                f"{model_dir} holds a {metadata.kind} model; backend {name!r} cannot run it")
        backend_cls = resolve_backend(name)
        return cls(backend_cls(model_dir, metadata, **options), metadata, model_dir)

    # -- sentences --------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Score per text and label, shape ``(len(texts), len(self.labels))``."""
        if isinstance(texts, str):
            raise TypeError("predict_proba takes a list of texts, not one string")
        return self.backend.predict_proba(list(texts))

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Boolean label matrix from scores, with the model's per-label thresholds."""
        return scores >= self.thresholds

    def predict(self, texts: Sequence[str]) -> list[SentencePrediction]:
        """Labels and scores for each text (a sentence, usually)."""
        scores = self.predict_proba(texts)
        return [self._prediction(text, row) for text, row in zip(texts, scores)]

    def _prediction(self, text: str, row: np.ndarray) -> SentencePrediction:
        return SentencePrediction(
            text=text,
            labels=[name for name, on in zip(self.labels, row >= self.thresholds) if on],
            scores={name: float(value) for name, value in zip(self.labels, row)})

    # -- documents --------------------------------------------------------------------

    def classify_documents(self, documents: Iterable[str | Mapping[str, Any]], *,
                           unit: str = "sentence", text_field: str = "text",
                           id_field: str = "id", window: int = DEFAULT_WINDOW,
                           ) -> Iterator[SentenceResult]:
        """Split documents into units and label each unit, streaming.

        ``documents`` are strings or dicts (``text_field`` holds the text, ``id_field``
        the id; other keys are carried into ``SentenceResult.fields``). Units are
        scored ``window`` at a time, so memory stays flat however long the stream;
        results come out in input order.
        """
        pending: list[tuple[str, int, Any, Mapping[str, Any]]] = []
        units_pending = 0
        for number, document in enumerate(documents):
            doc_id, text, fields = _document_parts(document, number, text_field, id_field)
            spans = split_units(text, unit)
            pending.append((doc_id, number, spans, fields))
            units_pending += len(spans)
            if units_pending >= window:
                yield from self._flush(pending)
                pending, units_pending = [], 0
        if pending:
            yield from self._flush(pending)

    def _flush(self, pending: list[tuple[str, int, Any, Mapping[str, Any]]]) -> Iterator[SentenceResult]:
        texts = [span.text for _, _, spans, _ in pending for span in spans]
        scores = self.predict_proba(texts)
        row = 0
        for doc_id, _, spans, fields in pending:
            for index, span in enumerate(spans):
                prediction = self._prediction(span.text, scores[row])
                row += 1
                yield SentenceResult(text=span.text, labels=prediction.labels,
                                     scores=prediction.scores, doc_id=doc_id, index=index,
                                     start=span.start, end=span.end, fields=dict(fields))


def _document_parts(document: str | Mapping[str, Any], number: int, text_field: str,
                    id_field: str) -> tuple[str, str, dict[str, Any]]:
    if isinstance(document, str):
        return str(number), document, {}
    if not isinstance(document, Mapping):
        raise InputError(f"document {number} is a {type(document).__name__}, not a string or dict")
    text = document.get(text_field)
    if not isinstance(text, str):
        raise InputError(f"document {number}: missing or non-string text", field=text_field)
    raw_id = document.get(id_field, number)
    fields = {k: v for k, v in document.items() if k not in (text_field, id_field)}
    return str(raw_id), text, fields
