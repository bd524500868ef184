#!/usr/bin/env python3
"""Hugging Face `tokenizers` as an independent reference for mixprec's BytePairTokenizer, on the
files bench/bpeExport.js writes:

1. Encoding: a `tokenizers` BPE model built from mixprec's merges, with GPT-2's byte-level
   pre-tokenizer, must encode the validation split to exactly mixprec's ids.
2. Training: `tokenizers`' BpeTrainer on the train split (same vocabulary size, the 256 bytes as
   the initial alphabet). Both pick the most frequent pair; they break ties differently (mixprec
   by byte value, `tokenizers` by its own ids, which order bytes by their printable stand-ins),
   so the merge lists must agree at every merge whose winning count is unique, up to the first
   tie; the script reports how far they agree and the pair counts where they first part.

    node bench/bpeExport.js && python3 bench/hfBpeReference.py   # [dir], default $TMPDIR/mixprec-bpe-reference

Needs the `tokenizers` package (0.22.2 was used: `pip install tokenizers` in a virtual
environment). Takes about 3 minutes, most of it recounting pairs in Python at the first
disagreement.
"""
import array
import collections
import json
import os
import re
import sys
import tempfile
import time

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), 'mixprec-bpe-reference')


def bytes_to_unicode():
    """GPT-2's table: each byte as a printable character (encoder.py)."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
U2B = {u: b for b, u in B2U.items()}
read = lambda name: open(os.path.join(data, name), encoding='utf-8').read()
train, validation = read('train.txt'), read('validation.txt')
merges = json.load(open(os.path.join(data, 'tokenizer.json')))['merges']

# Token bytes of mixprec's vocabulary.
token_bytes = [bytes([b]) for b in range(256)]
for a, b in merges:
    token_bytes.append(token_bytes[a] + token_bytes[b])
as_unicode = lambda bs: ''.join(B2U[x] for x in bs)

# 1. Encoding with mixprec's merges.
vocab = {as_unicode(t): i for i, t in enumerate(token_bytes)}
hf_merges = [(as_unicode(token_bytes[a]), as_unicode(token_bytes[b])) for a, b in merges]
tok = Tokenizer(models.BPE(vocab=vocab, merges=hf_merges))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
t0 = time.time()
hf_ids = tok.encode(validation).ids
ids = array.array('i')
with open(os.path.join(data, 'validation-ids.i32'), 'rb') as f:
    ids.frombytes(f.read())
mine = ids.tolist()
first_diff = next((i for i, (x, y) in enumerate(zip(hf_ids, mine)) if x != y), None)
print(json.dumps({'check': 'encode validation with mixprec merges', 'tokens_hf': len(hf_ids), 'tokens_mixprec': len(mine),
                  'identical': hf_ids == mine, 'first_difference': first_diff, 'seconds': round(time.time() - t0, 2)}))

# 2. Training.
hf = Tokenizer(models.BPE())
hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
trainer = trainers.BpeTrainer(vocab_size=256 + len(merges), min_frequency=0, show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
t0 = time.time()
hf.train_from_iterator([train], trainer)
hf_seconds = time.time() - t0
hf_merge_bytes = [(bytes(U2B[c] for c in a), bytes(U2B[c] for c in b))
                  for a, b in (m.split(' ') if isinstance(m, str) else m for m in json.loads(hf.to_str())['model']['merges'])]
mine_merge_bytes = [(token_bytes[a], token_bytes[b]) for a, b in merges]
agree = next((i for i, (x, y) in enumerate(zip(hf_merge_bytes, mine_merge_bytes)) if x != y), min(len(hf_merge_bytes), len(mine_merge_bytes)))

# Pair counts just before the first disagreement, to see whether it is a tie.
detail = None
if agree < len(mine_merge_bytes):
    pieces = collections.Counter(re.findall(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""", train))
    if all(ord(c) < 128 for c in train):  # the ASCII-only pattern above is GPT-2's on ASCII text
        words = {tuple(bytes([x]) for x in p.encode()): c for p, c in pieces.items()}
        for a, b in mine_merge_bytes[:agree]:
            new = {}
            for w, c in words.items():
                out, i = [], 0
                while i < len(w):
                    if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                        out.append(a + b)
                        i += 2
                    else:
                        out.append(w[i])
                        i += 1
                new[tuple(out)] = new.get(tuple(out), 0) + c
            words = new
        counts = collections.Counter()
        for w, c in words.items():
            for i in range(len(w) - 1):
                counts[(w[i], w[i + 1])] += c
        detail = {'mixprec_pair': repr(mine_merge_bytes[agree]), 'mixprec_count': counts[mine_merge_bytes[agree]],
                  'hf_pair': repr(hf_merge_bytes[agree]), 'hf_count': counts[hf_merge_bytes[agree]]}
print(json.dumps({'check': 'train on the train split', 'merges_hf': len(hf_merge_bytes), 'merges_mixprec': len(mine_merge_bytes),
                  'identical_prefix': agree, 'hf_train_seconds': round(hf_seconds, 2), 'first_disagreement': detail,
                  'same_merge_set': len(set(hf_merge_bytes) & set(mine_merge_bytes))}))
