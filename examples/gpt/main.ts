/**
 * Train the GPT on the Brown corpus in one precision recipe and print a sample:
 *
 *   npx tsc -p examples/tsconfig.json
 *   node examples/build/gpt/main.js --preset tiny --variant bfloat16 --checkpoint runs/gpt
 *
 * The best model (lowest validation loss) is kept as a checkpoint in the --checkpoint folder.
 * `npm run demo -- --model gpt` runs the three variants side by side instead.
 */
import { parseArgs } from 'node:util';

import * as mp from 'mixprec';

import { presets, type PresetName } from './config';
import { loadGptData } from './data';
import { trainGpt, type Variant } from './train';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string', default: 'small' },
      variant: { type: 'string', default: 'bfloat16' },
      seed: { type: 'string', default: '0' },
      checkpoint: { type: 'string' },
      prompt: { type: 'string', default: 'The' },
    },
  });
  if (!(values.preset in presets)) throw new Error(`gpt: --preset must be one of ${Object.keys(presets).join(', ')}, got '${values.preset}'`);
  if (!['float32', 'bfloat16', 'float16'].includes(values.variant)) throw new Error(`gpt: --variant must be float32, bfloat16 or float16, got '${values.variant}'`);
  const config = presets[values.preset as PresetName];
  const variant = values.variant as Variant;
  const data = loadGptData(config.vocabSize, console.log);

  const result = await trainGpt({
    config, data, variant, seed: Number(values.seed), checkpointDir: values.checkpoint,
    onStep: (step, loss, scale) => {
      if (loss !== undefined) console.log(`step ${step}/${config.maxSteps}  train loss ${loss.toFixed(4)}${scale === undefined ? '' : `  scale ${scale}`}`);
    },
  });
  console.log(`validation loss ${result.finalValLoss.toFixed(4)} (best ${result.bestValLoss.toFixed(4)}), ${result.tokensPerSecond.toFixed(0)} tokens/s`);
  if (values.checkpoint !== undefined) {
    // Generate from the best model, not the last one.
    const { step } = mp.checkpoint.load(values.checkpoint, { model: result.model });
    console.log(`loaded the best checkpoint (step ${step}) from ${values.checkpoint}`);
  }
  const idx = mp.tensor([Array.from(data.tokenizer.encode(values.prompt))], { dtype: 'int32' });
  const out = result.model.generate(idx, { maxNewTokens: config.model.blockSize - idx.shape[1], temperature: 0.8, topK: 40 });
  console.log(`\n${data.tokenizer.decode(Array.from(out.dataSync()))}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error && e.message.startsWith('gpt: ') ? e.message : e);
  process.exitCode = 1;
});
