"""``waspada classify INPUT... --output FILE``: label every sentence of an archive."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from waspada.inference.segmenter import UNITS  # pure standard library: cheap at --help time


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "classify", help="label every sentence of an archive of documents",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Split documents into sentences (or paragraphs) and label each one.\n\n"
                    "Inputs: .jsonl, .csv, .parquet and .txt files, folders of them (read\n"
                    "recursively, in sorted order) and - for JSONL on stdin. Fields other than\n"
                    "the text and the id (date, source, url...) are carried into the output.\n"
                    "A record without an id gets FILE:LINE (Parquet: FILE:ROW); a .txt file's\n"
                    "id is its path.\n\n"
                    "Output (.jsonl, .csv or .parquet): one row per unit with doc_id,\n"
                    "sentence_index, start, end (text == document[start:end]), text, labels\n"
                    "and score_<label>. It is written beside the target as OUTPUT.partial\n"
                    "plus OUTPUT.checkpoint.json, committed document by document, and renamed\n"
                    "(or converted) at the end; --resume continues an interrupted run.",
        epilog="examples:\n"
               "  waspada classify archive/ --model runs/indobert-base --output labels.parquet "
               "--summary docs.csv\n"
               "  zcat dump.jsonl.gz | waspada classify - --output labels.jsonl "
               "--skip-bad rejects.jsonl\n"
               "  waspada classify archive/ --output labels.parquet --resume   # after an interruption")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="file (.jsonl .csv .parquet .txt), folder, or - (JSONL on stdin)")
    parser.add_argument("--model", default=None, metavar="DIR",
                        help="model folder (default: the default model, built on first use)")
    parser.add_argument("--output", "-o", required=True, metavar="FILE",
                        help="one row per unit; .jsonl, .csv or .parquet")
    parser.add_argument("--summary", metavar="FILE",
                        help="also one row per document: units, count_<label>, share_<label>")
    parser.add_argument("--skip-bad", metavar="REJECTS", dest="rejects",
                        help="write bad records (file, line, reason, record) here and go on, "
                             "instead of stopping at the first one")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run with the same arguments")
    parser.add_argument("--unit", choices=UNITS, default="sentence",
                        help="what one output row is (default: %(default)s)")
    parser.add_argument("--text-field", default="text", metavar="NAME",
                        help="field/column holding the text (default: %(default)s)")
    parser.add_argument("--id-field", default="id", metavar="NAME",
                        help="field/column holding the document id (default: %(default)s)")
    parser.add_argument("--backend", default=None,
                        help="torch (default), onnx, onnx-int8 (exported with `waspada export`) or tfidf")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="units per model batch (default: %(default)s)")
    parser.add_argument("--max-batch-tokens", type=int, default=None, metavar="N",
                        help="also cap a batch at N padded tokens (default on CPU: 1024 for a "
                             "768-wide model, scaled by width; none on GPU; 0 = no cap)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="intra-op threads of the model (default: all cores)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1... (default: cuda if available)")
    parser.add_argument("--window", type=int, default=None, metavar="UNITS",
                        help="units sorted by length and scored together (default: 2048)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    scale = parser.add_argument_group(
        "scale out", "run the same pipeline on Ray Data (pip install 'waspada[ray]'): outputs become "
                     "folders of part files; see README 'Classify on a Ray cluster'")
    scale.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local threads (default) or a Ray cluster")
    scale.add_argument("--address", default=None,
                       help="Ray address: auto (the cluster this node is in) or ray://HEAD:10001; "
                            "default: start a local Ray")
    scale.add_argument("--workers", type=int, default=None, metavar="N",
                       help="model actors (default: one per GPU, else cores / 2)")
    scale.add_argument("--gpus-per-worker", type=float, default=0, metavar="G",
                       help="GPUs per actor (e.g. 1, or 0.5 to pack two per GPU)")
    parser.set_defaults(func=run)


def run_ray(args: argparse.Namespace) -> int:
    from waspada.inference.errors import WaspadaError
    from waspada.inference.ray_engine import classify_archive_ray

    if args.resume:
        raise WaspadaError("--resume is for the local engine; a Ray run writes its parts only "
                           "when it succeeds, so run it again")
    check_inputs(args)  # outputs are folders of parts here: only inputs are checked
    stats = classify_archive_ray(
        model_path(args.model), args.inputs, args.output, backend=args.backend or "torch",
        unit=args.unit, text_field=args.text_field, id_field=args.id_field,
        skip_bad=args.rejects, summary=args.summary, address=args.address, workers=args.workers,
        gpus_per_worker=args.gpus_per_worker, batch_size=args.batch_size, threads=args.threads,
        progress=not args.no_progress)
    print(f"read {stats.read:,} documents: {stats.classified:,} classified, {stats.rejected:,} rejected"
          + (f" (see {args.rejects})" if args.rejects else ""))
    print(f"wrote {stats.units:,} {args.unit}s to {args.output} in {stats.seconds:.1f} s")
    return 0


def model_path(given: str | None) -> Path | None:
    """``--model``, else the default model (built on first use by the training package).

    Where the training package is not installed, ``None``: ``Classifier.load`` then
    looks in the default model folder and says how to build it if it is missing.
    """
    if given is not None:
        return Path(given)
    try:
        from waspada.train.default_model import ensure_default_model
    except ImportError:
        return None  # Classifier.load(None) -> waspada.inference.home.default_model_dir()
    return ensure_default_model()


def check_inputs(args: argparse.Namespace) -> None:
    """Fail fast on a missing input."""
    from waspada.inference.errors import InputError

    for given in args.inputs:
        if given != "-" and not Path(given).exists():
            raise InputError("no such file or folder", path=given)


def check_paths(args: argparse.Namespace) -> None:
    """Fail fast on a missing input or an output of unknown format."""
    from waspada.inference.writers import output_format

    for target in (args.output, args.summary, args.rejects):
        if target is not None:
            output_format(target)
    check_inputs(args)


def run(args: argparse.Namespace) -> int:
    from waspada.inference.archive import classify_archive
    from waspada.inference.classifier import DEFAULT_WINDOW, Classifier
    from waspada.inference.errors import InputError, WaspadaError

    from ._common import offline_by_default

    offline_by_default()
    if args.engine == "ray":
        return run_ray(args)
    if args.batch_size < 1:
        raise WaspadaError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.threads is not None and args.threads < 1:
        raise WaspadaError(f"--threads must be >= 1, got {args.threads}")
    if args.max_batch_tokens is not None and args.max_batch_tokens < 0:
        raise WaspadaError(f"--max-batch-tokens must be >= 0 (0 = no cap), got {args.max_batch_tokens}")
    check_paths(args)  # before loading (or building) a model
    options = {"batch_size": args.batch_size}
    if args.max_batch_tokens is not None:
        options["max_batch_tokens"] = args.max_batch_tokens
    if args.threads is not None:
        options["threads"] = args.threads
    if args.device is not None:
        options["device"] = args.device
    classifier = Classifier.load(model_path(args.model), backend=args.backend, **options)
    try:
        stats = classify_archive(
            classifier, args.inputs, args.output, summary=args.summary, rejects=args.rejects,
            unit=args.unit, text_field=args.text_field, id_field=args.id_field,
            window=args.window or DEFAULT_WINDOW, resume=args.resume,
            progress=False if args.no_progress else None)
    except InputError as exc:
        if getattr(exc, "rejected", None) is not None:  # a bad record, not a bad argument
            print("hint: --skip-bad REJECTS.jsonl sets bad records aside and goes on; after fixing "
                  "the record, --resume continues from it", file=sys.stderr)
        raise
    units = f"{args.unit}s"
    print(f"read {stats.read:,} document{'' if stats.read == 1 else 's'}: {stats.classified:,} classified, "
          f"{stats.rejected:,} rejected" + (f" (see {args.rejects})" if args.rejects else ""))
    if stats.resumed_from:
        print(f"resumed after {stats.resumed_from:,} documents done by the interrupted run")
    print(f"wrote {stats.units:,} {units} to {args.output}"
          + (f", one row per document to {args.summary}" if args.summary else "")
          + f" in {stats.seconds:.1f} s ({stats.units_per_second:,.1f} {units}/s)")
    return 0
