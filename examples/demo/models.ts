/** The demo's two models (the issue's): MLP 784-512-512-10 and conv(32)-pool-conv(64)-pool-linear. */
import * as mp from 'mixprec';

import type { ModelKind } from './args';

export function buildModel(kind: ModelKind): mp.nn.Module {
  if (kind === 'mlp') {
    return new mp.nn.Sequential(new mp.nn.Linear(784, 512), new mp.nn.ReLU(), new mp.nn.Linear(512, 512), new mp.nn.ReLU(), new mp.nn.Linear(512, 10));
  }
  return new mp.nn.Sequential(
    new mp.nn.Conv2d(1, 32, 3, { padding: 1 }), new mp.nn.ReLU(), new mp.nn.MaxPool2d(2),
    new mp.nn.Conv2d(32, 64, 3, { padding: 1 }), new mp.nn.ReLU(), new mp.nn.MaxPool2d(2),
    new mp.nn.Flatten(), new mp.nn.Linear(3136, 10),
  );
}

/** A batch of flat [N, 784] digits shaped for the model. */
export const asInput = (x: mp.Tensor, kind: ModelKind): mp.Tensor => (kind === 'cnn' ? x.reshape([-1, 1, 28, 28]) : x);
