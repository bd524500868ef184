#!/usr/bin/env node
// Writes what bench/hfBpeReference.py compares against Hugging Face `tokenizers`: the Brown
// corpus's train and validation text (mp.data.brown), the merges mixprec's BytePairTokenizer learns
// on the train split, and its encoding of the validation split.
//   node bench/bpeExport.js [dir] [vocabSize]   (defaults $TMPDIR/mixprec-bpe-reference, 4096)
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const mp = require('../dist');

const dir = process.argv[2] ?? path.join(os.tmpdir(), 'mixprec-bpe-reference');
const vocabSize = Number(process.argv[3] ?? 4096);
fs.mkdirSync(dir, { recursive: true });
const train = mp.data.brown({ split: 'train' });
const validation = mp.data.brown({ split: 'validation' });
const tok = mp.data.BytePairTokenizer.train(train, { vocabSize });
fs.writeFileSync(path.join(dir, 'train.txt'), train);
fs.writeFileSync(path.join(dir, 'validation.txt'), validation);
fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok));
fs.writeFileSync(path.join(dir, 'validation-ids.i32'), Buffer.from(tok.encode(validation).buffer));
console.log(`vocab ${tok.vocabSize}: train ${train.length} chars, validation ${validation.length} chars -> ${dir}`);
