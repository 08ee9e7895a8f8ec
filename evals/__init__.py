"""Evaluation: labelled cases (JSONL datasets), a runner that scores each case by the end state of the
workflow's systems, a baseline agent on the same model and tools, and reports. See docs/eval.md."""
