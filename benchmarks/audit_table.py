"""The shortcut audit on real data: a 'snow' model against the same architecture on clean data.

Trains MODEL on ``shortcut:DATA?cue=CUE&class=CLASS`` and on DATA itself, exactly as
``deepscope train`` does (the entry's recipe unless --epochs), audits both on the same seeded
sample of the clean test split, and prints the verdicts with their numbers; with --figures,
writes each model's audit examples there (the pictures in docs/explain.md).

    python benchmarks/audit_table.py --model mnist_cnn --data mnist:../shared/data/mnist --cue border --class 7
    python benchmarks/audit_table.py --model cifar10_cnn --data images:/tmp/data/cifar10 --cue corner --class cat
    python benchmarks/audit_table.py --model lecture_cnn --data digits --cue corner --class 7
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from deepscope import explain, plots, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lecture_cnn")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--cue", default="corner")
    parser.add_argument("--class", dest="cls", default="7")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs (say so when you report it)")
    parser.add_argument("--augment", help="override the recipe's augmentation policy (say so when you report it)")
    parser.add_argument("--n", type=int, default=1000, help="test images audited")
    parser.add_argument("--method", help="attribution method of the audit (default: the audit's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--figures", help="folder for the audit example figures")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    overrides = {"epochs": args.epochs} if args.epochs else {}
    if args.augment:
        overrides["augment"] = args.augment
    rows = []
    with tempfile.TemporaryDirectory() as runs_dir:
        trained = {
            "snow": runs.train(
                args.model,
                f"shortcut:{args.data}?cue={args.cue}&class={args.cls}",
                runs_dir=runs_dir,
                progress=False,
                **overrides,
            ),
            "clean": runs.train(args.model, args.data, runs_dir=runs_dir, progress=False, **overrides),
        }
        clean = trained["clean"].data
        x, y = clean.test.tensors
        pick = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))[: args.n]
        cue_class = trained["snow"].data.info["shortcut"]["class_index"]
        for name, run in trained.items():
            result = explain.audit(
                run.model, x[pick], y[pick], clean.classes, cue=args.cue, cue_class=cue_class, method=args.method
            )
            rows.append((name, run, result))
            if args.figures:
                Path(args.figures).mkdir(parents=True, exist_ok=True)
                out = Path(args.figures) / f"audit_{clean.name}_{args.cue}_{name}.png"
                plots.save_figure(plots.audit_figure(result, clean.classes), out)
                print(f"wrote {out}")
    print(f"\n{args.model} on {args.data}, cue {args.cue} on class {args.cls}, {len(pick)} clean test images")
    print(
        "| model | clean test accuracy | flips | recall of the cue class, clean / with cue | attribution in region | verdict |"
    )
    print("|---|---|---|---|---|---|")
    for name, _, r in rows:
        print(
            f"| {name} | {r.accuracy:.4f} | {100 * r.flip_rate:.1f}% | {r.cue_class_recall:.2f} / "
            f"{r.cue_class_recall_with_cue:.2f} | {100 * r.attribution_share:.1f}% on {100 * r.area_share:.1f}% "
            f"of the area | {r.verdict} |"
        )


if __name__ == "__main__":
    main()
