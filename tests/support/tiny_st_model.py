"""Build a tiny sentence-transformers model on the spot, so the embedding backend is tested without any
download: a seeded, randomly initialised 2-layer BERT whose vocabulary is written here.

Its vectors mean nothing semantically; they are deterministic, unit length, and differ between texts,
which is all a test of the loading and encoding path needs.
"""

from __future__ import annotations

import os
import string
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
HIDDEN_SIZE = 32
SEED = 0

# Characters the knowledge base uses most, so Chinese text tokenises to real ids rather than [UNK].
COMMON_CHINESE = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把"
    "性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质"
    "气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活"
    "设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则"
    "任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美"
    "再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元"
    "况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委"
    "素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江"
    "型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严客户项目施顾培训供商失败"
)
CHINESE_PUNCTUATION = "，。！？；：、（）《》〈〉「」『』“”‘’【】—…·～"
DEFAULT_CHARACTERS = (
    COMMON_CHINESE + CHINESE_PUNCTUATION + string.ascii_lowercase + string.digits + string.punctuation
)


def _is_cjk(ch: str) -> bool:
    # The ranges BERT's basic tokenizer splits one character at a time; others go through WordPiece.
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def build_vocabulary(texts: Iterable[str] = ()) -> list[str]:
    """Special tokens, then every default character and every character of ``texts`` (sorted, so the
    same inputs give the same ids), plus a ``##`` continuation piece for each non-CJK letter or digit."""
    # The tokenizer lowercases before the lookup, so upper-case letters would be dead entries.
    chars = set(DEFAULT_CHARACTERS)
    for text in texts:
        chars.update(ch for ch in text.lower() if not ch.isspace())
    chars.difference_update(SPECIAL_TOKENS)
    # WordPiece turns a whole word into [UNK] if any piece is missing; with single letters and their
    # `##` forms every Latin word spells out letter by letter instead.
    continuations = {f"##{ch}" for ch in chars if ch.isalnum() and not _is_cjk(ch)}
    return [*SPECIAL_TOKENS, *sorted(chars), *sorted(continuations)]


def _force_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # huggingface_hub reads the variable once, at import: if something imported it already, the
    # environment alone would not switch it off.
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]


def build_tiny_model(target: Path, texts: Iterable[str] = ()) -> Path:
    """Build a tiny, randomly initialised (seeded, deterministic) BERT sentence-transformers model at
    ``target`` without any network access and return the directory.

    Vocabulary: special tokens plus every character of ``texts`` and a default set of common Chinese
    characters, punctuation and ASCII letters/digits, so Chinese and English text tokenises (BertTokenizer
    splits CJK per character). Hidden size 32, 2 layers, 2 heads, mean pooling, normalised output. The
    result loads with ``SentenceTransformer(str(target), device="cpu")``.
    """
    # Offline before anything from the Hugging Face stack is imported, so a mistake fails here
    # instead of reaching for a model hub.
    _force_offline()
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizer

    vocab = build_vocabulary(texts)
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    # The bare BERT is a stepping stone: Transformer() loads it, then the whole pipeline is saved at
    # `target`, so the intermediate copy need not stay beside it.
    with tempfile.TemporaryDirectory(prefix="tiny-bert-") as scratch:
        bert_dir = Path(scratch)
        vocab_file = bert_dir / "vocab.txt"
        vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
        BertTokenizer(str(vocab_file), do_lower_case=True, tokenize_chinese_chars=True).save_pretrained(
            str(bert_dir)
        )
        config = BertConfig(
            vocab_size=len(vocab),
            hidden_size=HIDDEN_SIZE,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=2 * HIDDEN_SIZE,
            max_position_embeddings=512,
            pad_token_id=0,
        )
        # A private RNG state: the weights are the same on every build, and the caller's torch seed is
        # left as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            BertModel(config).save_pretrained(str(bert_dir))
        transformer = Transformer(str(bert_dir), max_seq_length=256)
        pooling = Pooling(HIDDEN_SIZE, pooling_mode="mean")
        model = SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu")
        model.save(str(target))
    return target
