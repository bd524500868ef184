#!/usr/bin/env node
// Writes docs/ops.md from the op registry (`npm run docs:ops`); test/registry.test.ts checks
// that the committed file is current, so the reference can't drift from the code.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const categories = {
  lowerPrecision: 'autocast dtype',
  fp32: 'float32',
  fp32SetOptDtype: 'float32 result, input not cast',
  promote: 'widest input dtype',
  passThrough: 'inputs as given',
  banned: 'refused (unsafe in float16)',
};
const kinds = {
  primitive: 'native forward, backward formula',
  composite: 'built from recorded ops',
  nondifferentiable: 'no gradient',
};

/** The markdown reference for the ops of a loaded mixprec module. */
function render(mp) {
  const rows = mp.registeredOps().map((op) => {
    const method = typeof mp.Tensor.prototype[op.name] === 'function' ? `\`t.${op.name}()\`` : '';
    return `| \`${op.name}\` | ${kinds[op.kind]} | ${categories[op.autocast.cuda]} | ${categories[op.autocast.cpu]} | ${method} |`;
  });
  return [
    '# Op reference',
    '',
    'Generated from the op registry by `npm run docs:ops` (do not edit by hand). Every op is',
    'declared once in `lib/ops`, `lib/nn/functional.ts` or `lib/nn/losses.ts`; autograd, autocast',
    'and the tests read the same declaration. The autocast columns give the dtype the op runs in',
    'inside an autocast scope under the built-in policies (`mp.amp.policies.cuda`, float16 by',
    'default, and `mp.amp.policies.cpu`, bfloat16 by default), which follow PyTorch\'s op lists;',
    'see [autocast.md](autocast.md).',
    '',
    '| Op | Gradient | CUDA autocast | CPU autocast | Tensor method |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

module.exports = { render };

if (require.main === module) {
  const mp = require(path.join(__dirname, '..', 'dist'));
  fs.writeFileSync(path.join(__dirname, '..', 'docs', 'ops.md'), render(mp));
}
