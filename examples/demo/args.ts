/**
 * The demo's command line: which model, seeds, variants and device, how many epochs, where the
 * report goes, and whether to print JSON.
 */

/** The three ways the demo trains: plain float32, and the two autocast recipes. */
export const allVariants = ['float32', 'bfloat16', 'float16'] as const;
export type Variant = (typeof allVariants)[number];

export type ModelKind = 'mlp' | 'cnn' | 'gpt';

/** The GPT model's sizes (examples/gpt/config.ts). */
export const gptPresets = ['tiny', 'small', 'medium'] as const;
export type GptPreset = (typeof gptPresets)[number];
export type DeviceType = 'cpu' | 'cuda';

export interface Args {
  model: ModelKind;
  seeds: number[];
  /** Epochs per run (default 15 for the MLP, 10 for the CNN; the GPT counts steps, set by its preset). */
  epochs: number;
  /** GPT only: the model and schedule size (default small). */
  preset: GptPreset;
  /** GPT only: the float16 GradScaler's first scale (default PyTorch's 2**16). */
  initScale: number | undefined;
  /** In float32, bfloat16, float16 order whatever order they were given in. */
  variants: Variant[];
  /** Undefined: cuda when available, else cpu (the caller decides). */
  device: DeviceType | undefined;
  /** Where the HTML report is written. */
  report: string;
  /** `--json`: print the JSON document instead of the table. */
  json: boolean;
  /** `--json FILE`: print the table as usual and write the JSON document to FILE. */
  jsonFile: string | undefined;
  help: boolean;
}

export const usage = `usage: npm run demo -- [options]

Trains a model three ways with the same hyper-parameters, weights and batches
(float32; autocast bfloat16; autocast float16 + GradScaler), prints one table and writes
an HTML report of the loss curves and the loss-scale trajectory: an MNIST MLP or CNN, or
a small GPT on the Brown corpus.

  --model mlp|cnn|gpt    MLP 784-512-512-10 (default), the small CNN, or the GPT
  --epochs N             epochs per run (default 15 for mlp, 10 for cnn; not for gpt)
  --preset tiny|small|medium
                         GPT size and schedule (default small: about five minutes
                         on two cores; tiny: about a minute)
  --init-scale N         GPT float16: the GradScaler's first scale (default 65536)
  --seeds 0,1,2          seeds to run (default 0); --seed N is the same as --seeds N
  --variants LIST        some of float32,bfloat16,float16 (default all three)
  --device cpu|cuda      default cuda when available, else cpu
  --report PATH          the HTML report (default amp-report.html)
  --json                 print one JSON document with every number instead of the table
                         (pipe it with npm run -s demo -- --json | jq ...)
  --json FILE            print the table and write the JSON document to FILE
  --help                 this text`;

function fail(message: string): never {
  throw new Error(`mnist: ${message} (npm run demo -- --help lists the options)`);
}

function positiveInteger(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isSafeInteger(n) || n < 1) fail(`${flag} needs a positive integer, got '${value ?? ''}'`);
  return n;
}

function seedList(flag: string, value: string | undefined): number[] {
  const parts = (value ?? '').split(',').map((s) => s.trim());
  const seeds = parts.map(Number);
  if (parts.some((s) => s === '') || seeds.some((s) => !Number.isSafeInteger(s) || s < 0)) {
    fail(`${flag} needs non-negative integers separated by commas (e.g. 0,1,2), got '${value ?? ''}'`);
  }
  return [...new Set(seeds)];
}

function variantList(value: string | undefined): Variant[] {
  const names = (value ?? '').split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(allVariants as readonly string[]).includes(name)) fail(`--variants: unknown variant '${name}' (expected some of ${allVariants.join(',')})`);
  }
  return allVariants.filter((v) => names.includes(v));
}

/** Parses `argv` (without node and the script); `--flag value` and `--flag=value` both work. */
export function parseArgs(argv: string[]): Args {
  const args: Args = { model: 'mlp', seeds: [0], epochs: 0, preset: 'small', initScale: undefined, variants: [...allVariants], device: undefined, report: 'amp-report.html', json: false, jsonFile: undefined, help: false };
  let preset: GptPreset | undefined;
  for (let i = 0; i < argv.length; ++i) {
    let flag = argv[i];
    let value: string | undefined;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    const takeValue = (): string | undefined => {
      if (value !== undefined) return value;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return undefined;
      ++i;
      return next;
    };
    switch (flag) {
      case '--json': {
        const file = takeValue();
        if (file === '') fail('--json FILE needs a file path');
        if (file === undefined) args.json = true;
        else args.jsonFile = file;
        break;
      }
      case '--help':
        if (value !== undefined) fail(`${flag} takes no value`);
        args.help = true;
        break;
      case '--model': {
        const v = takeValue();
        if (v !== 'mlp' && v !== 'cnn' && v !== 'gpt') fail(`--model needs mlp, cnn or gpt, got '${v ?? ''}'`);
        args.model = v;
        break;
      }
      case '--epochs':
        args.epochs = positiveInteger(flag, takeValue());
        break;
      case '--preset': {
        const v = takeValue();
        if (!(gptPresets as readonly string[]).includes(v ?? '')) fail(`--preset needs one of ${gptPresets.join(', ')}, got '${v ?? ''}'`);
        preset = v as GptPreset;
        break;
      }
      case '--init-scale': {
        const v = takeValue();
        const n = Number(v);
        if (v === undefined || v.trim() === '' || !(n > 0) || !Number.isFinite(n)) fail(`--init-scale needs a positive number, got '${v ?? ''}'`);
        args.initScale = n;
        break;
      }
      case '--seeds':
      case '--seed':
        args.seeds = seedList(flag, takeValue());
        break;
      case '--variants':
        args.variants = variantList(takeValue());
        break;
      case '--device': {
        const v = takeValue();
        if (v !== 'cpu' && v !== 'cuda') fail(`--device needs cpu or cuda, got '${v ?? ''}'`);
        args.device = v;
        break;
      }
      case '--report': {
        const v = takeValue();
        if (v === undefined || v === '') fail('--report needs a file path');
        args.report = v;
        break;
      }
      default:
        fail(`unknown argument '${argv[i]}'`);
    }
  }
  if (args.model === 'gpt' && args.epochs !== 0) fail('--epochs does not apply to --model gpt (its preset sets the steps)');
  if (args.model !== 'gpt' && (preset !== undefined || args.initScale !== undefined)) fail('--preset and --init-scale apply to --model gpt only');
  args.preset = preset ?? 'small';
  if (args.epochs === 0) args.epochs = args.model === 'mlp' ? 15 : 10;
  return args;
}
