"""``waspada export --model DIR --format onnx [--quantize int8]``: fast inference graphs."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export a model folder to ONNX (fp32, optionally int8) for fast CPU inference",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write DIR/onnx/model.onnx (and with --quantize int8 also model-int8.onnx,\n"
                    "weights dynamically quantized to int8) for the onnx and onnx-int8 back ends.\n"
                    "The graphs take input_ids and attention_mask with dynamic batch and sequence\n"
                    "axes and return logits; the folder's tokenizer, text prefix and thresholds\n"
                    "are used as they are. Each graph is checked against torch before it is\n"
                    "written; files are built aside and renamed into place. Running the command\n"
                    "again does nothing unless the weights changed (or --force).",
        epilog="examples:\n"
               "  waspada export --model runs/indobert-base --format onnx --quantize int8\n"
               "  waspada evaluate --model runs/indobert-base --data data/dev.jsonl "
               "--backend onnx-int8 --compare-backend torch\n"
               "  waspada classify archive/ --model runs/indobert-base --backend onnx-int8 "
               "--output labels.jsonl")
    parser.add_argument("--model", required=True, metavar="DIR", help="fine-tuned model folder")
    parser.add_argument("--format", choices=["onnx"], default="onnx",
                        help="export format (default: %(default)s)")
    parser.add_argument("--quantize", choices=["int8"], default=None,
                        help="also write the dynamically quantized int8 graph")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--optimize", action="store_true",
                        help="run ONNX Runtime's transformer optimizer (fused attention) before "
                             "quantizing; measured no faster on CPU, so off by default")
    parser.add_argument("--exporter", choices=["auto", "torchscript", "dynamo"], default="auto",
                        help="torch exporter (default: TorchScript, dynamo if that fails)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from waspada.inference.onnx_backend import export_onnx

    from ._common import offline_by_default

    offline_by_default()
    result = export_onnx(args.model, quantize=args.quantize, force=args.force,
                         optimize=args.optimize, exporter=args.exporter)
    variants = result.manifest.get("variants", {})
    for variant, path in result.files.items():
        entry = variants.get(variant, {})
        state = "written" if variant in result.written else "up to date"
        size = path.stat().st_size / 1e6
        diff = entry.get("max_abs_logit_diff")
        parity = f", max |logit diff| vs torch {diff:.1e}" if diff is not None else ""
        print(f"{path} ({size:,.1f} MB): {state}{parity}")
    if result.written:
        print(f"exported in {result.seconds:.1f} s; run it with --backend "
              + " or --backend ".join("onnx" if v == "fp32" else "onnx-int8" for v in result.files))
    return 0
