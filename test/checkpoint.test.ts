// checkpoint.save/load's contract in one process: the file's layout (PyTorch-style names,
// metadata), what is restored, keep, latest vs a named file, errors; and the DataLoader position.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mp from '../lib';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-ckpt-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The header of a safetensors file, read by hand. */
function headerOf(file: string): Record<string, any> {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
}

function trained(): { model: mp.nn.Sequential; optimizer: mp.optim.Adam; scheduler: mp.optim.StepLR; dispose: () => void } {
  mp.manualSeed(3);
  const model = new mp.nn.Sequential(new mp.nn.Linear(3, 4), new mp.nn.ReLU(), new mp.nn.Linear(4, 2));
  const optimizer = new mp.optim.Adam(model.parameters(), { lr: 0.01, weightDecay: 0.1 });
  const scheduler = new mp.optim.StepLR(optimizer, 2, { gamma: 0.5 });
  for (let i = 0; i < 3; ++i) {
    mp.tidy(() => {
      optimizer.zeroGrad();
      model.forward(mp.randn([5, 3])).pow(2).mean().backward();
      optimizer.step();
      scheduler.step();
    });
  }
  return { model, optimizer, scheduler, dispose: () => (optimizer.dispose(), model.dispose()) };
}

test('the file: PyTorch-style tensor names, JSON metadata, and everything restored', () => {
  const a = trained();
  const scaler = new mp.amp.GradScaler({ device: 'cpu', initScale: 1024, growthInterval: 7 });
  const g = new mp.Generator(11);
  mp.rand([3], { generator: g }).dispose();
  const file = mp.checkpoint.save(dir, { model: a.model, optimizer: a.optimizer, scheduler: a.scheduler, scaler, generator: g, step: 3, extra: { best: 0.5, inf: Infinity } });
  expect(path.basename(file)).toBe('checkpoint-0000000003.safetensors');
  const header = headerOf(file);
  expect(Object.keys(header).filter((k) => k !== '__metadata__').sort()).toEqual([
    'model.0.bias', 'model.0.weight', 'model.2.bias', 'model.2.weight',
    ...[0, 1, 2, 3].flatMap((i) => [`optimizer.state.${i}.exp_avg`, `optimizer.state.${i}.exp_avg_sq`, `optimizer.state.${i}.step`]),
  ].sort());
  const meta = header.__metadata__;
  expect(meta.format).toBe('mixprec.checkpoint/1');
  expect(meta.step).toBe('3');
  expect(JSON.parse(meta.optimizer).param_groups[0]).toMatchObject({ lr: 0.005, weight_decay: 0.1, initial_lr: 0.01, params: [0, 1, 2, 3] });
  expect(JSON.parse(meta.scaler)).toEqual({ scale: 1024, growth_factor: 2, backoff_factor: 0.5, growth_interval: 7, _growth_tracker: 0 });
  expect(JSON.parse(meta.generators).passed).toEqual([{ seed: '11', offset: String(g.getState().offset) }]);

  const expectedDefault = mp.defaultGenerator.getState();
  const expectedG = g.getState();
  mp.manualSeed(99);
  const b = trained(); // other weights, other state, other lr
  const scaler2 = new mp.amp.GradScaler({ device: 'cpu' });
  const g2 = new mp.Generator(5);
  const loaded = mp.checkpoint.load(dir, { model: b.model, optimizer: b.optimizer, scheduler: b.scheduler, scaler: scaler2, generator: g2 });
  expect(loaded).toEqual({ path: file, step: 3, extra: { best: 0.5, inf: Infinity } });
  for (const [name, t] of Object.entries(a.model.stateDict())) expect(Array.from(b.model.stateDict()[name].dataSync())).toEqual(Array.from(t.dataSync()));
  const sa = a.optimizer.stateDict();
  const sb = b.optimizer.stateDict();
  expect(sb.paramGroups).toEqual(sa.paramGroups);
  for (const i of [0, 1, 2, 3]) for (const k of ['step', 'expAvg', 'expAvgSq']) expect(Array.from(sb.state[i][k].dataSync())).toEqual(Array.from(sa.state[i][k].dataSync()));
  expect(b.scheduler.stateDict()).toEqual(a.scheduler.stateDict());
  expect(scaler2.stateDict()).toEqual(scaler.stateDict());
  expect(g2.getState()).toEqual(expectedG);
  expect(mp.defaultGenerator.getState()).toEqual(expectedDefault);
  mp.dispose([scaler, scaler2]);
  a.dispose();
  b.dispose();
});

test('keep prunes the oldest; load takes the newest or the file named', () => {
  const model = new mp.nn.Linear(2, 2);
  for (const step of [5, 10, 20, 30]) {
    mp.noGrad(() => model.weight.fill_(step));
    mp.checkpoint.save(dir, { model, step }, { keep: 2 });
  }
  expect(fs.readdirSync(dir).sort()).toEqual(['checkpoint-0000000020.safetensors', 'checkpoint-0000000030.safetensors']);
  expect(mp.checkpoint.load(dir, { model }).step).toBe(30);
  expect(model.weight.dataSync()[0]).toBe(30);
  expect(mp.checkpoint.load(path.join(dir, 'checkpoint-0000000020.safetensors'), { model }).step).toBe(20);
  expect(model.weight.dataSync()[0]).toBe(20);
  model.dispose();
});

test('errors: missing checkpoints and parts, foreign files, bad arguments', () => {
  const model = new mp.nn.Linear(2, 2);
  expect(() => mp.checkpoint.load(dir, { model })).toThrow(expect.objectContaining({ code: 'ERR_CHECKPOINT_NOT_FOUND' }));
  expect(() => mp.checkpoint.load(path.join(dir, 'nope'))).toThrow(expect.objectContaining({ code: 'ERR_CHECKPOINT_NOT_FOUND' }));
  mp.save({ w: model.weight }, path.join(dir, 'checkpoint-0000000001.safetensors'));
  expect(() => mp.checkpoint.load(dir, { model })).toThrow(expect.objectContaining({ code: 'ERR_CHECKPOINT_FORMAT', message: expect.stringMatching(/not a mixprec checkpoint/) }));
  mp.checkpoint.save(dir, { model, step: 2 });
  const optimizer = new mp.optim.SGD(model.parameters(), { lr: 0.1 });
  expect(() => mp.checkpoint.load(dir, { model, optimizer })).toThrow(expect.objectContaining({ code: 'ERR_CHECKPOINT_FORMAT', message: expect.stringMatching(/no 'optimizer' part/) }));
  expect(() => mp.checkpoint.load(dir, { modle: model } as never)).toThrow(/unknown option 'modle'/);
  expect(() => mp.checkpoint.save(dir, { model } as never)).toThrow(/step/);
  expect(() => mp.checkpoint.save(dir, { model, step: 1 }, { keep: 0 })).toThrow(/keep/);
  expect(() => mp.checkpoint.save(dir, { model, step: 1, generator: {} as never })).toThrow(/Generator/);
  // A model of other shapes: the model's own error, and nothing else changed.
  const other = new mp.nn.Linear(3, 2);
  expect(() => mp.checkpoint.load(dir, { model: other })).toThrow(expect.objectContaining({ code: 'ERR_SHAPE_MISMATCH' }));
  other.dispose();
  // No temporary file is left behind by successful saves.
  expect(fs.readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  optimizer.dispose();
  model.dispose();
});

test('parts are read from own properties only: a polluted Object.prototype adds nothing', () => {
  const model = new mp.nn.Linear(2, 2);
  const other = new mp.nn.Linear(2, 2);
  const proto = Object.prototype as Record<string, unknown>;
  try {
    proto.model = other;
    const file = mp.checkpoint.save(dir, { step: 1 });
    expect(Object.keys(headerOf(file)).filter((k) => k.startsWith('model.'))).toEqual([]);
    const before = Array.from(other.weight.data() as Float32Array);
    mp.checkpoint.save(dir, { model, step: 2 });
    mp.checkpoint.load(dir, {});
    expect(Array.from(other.weight.data() as Float32Array)).toEqual(before);
  } finally {
    delete proto.model;
    model.dispose();
    other.dispose();
  }
});

describe('DataLoader position', () => {
  const data = (): mp.data.TensorDataset => new mp.data.TensorDataset(mp.arange(10, { dtype: 'int32' }));
  const ids = (batch: mp.Tensor[]): number[] => {
    const v = Array.from(batch[0].dataSync() as Int32Array);
    mp.dispose(batch);
    return v;
  };

  test('a resumed loader yields the rest of the saved epoch, then the same new epochs', () => {
    const ds = data();
    const a = new mp.data.DataLoader(ds, { batchSize: 3, shuffle: true, generator: new mp.Generator(4) });
    const it = a[Symbol.iterator]();
    ids(it.next().value);
    const saved = a.stateDict();
    expect(saved.epochs).toBe(1);
    expect(saved.epoch!.nextBatch).toBe(1);
    const gState = a.generator!.getState();
    const rest = [ids(it.next().value), ids(it.next().value), ids(it.next().value)];
    expect(it.next().done).toBe(true);
    const next = [...a].map(ids);

    const b = new mp.data.DataLoader(ds, { batchSize: 3, shuffle: true, generator: new mp.Generator(0) });
    b.loadStateDict(saved);
    b.generator!.setState(gState);
    expect([...b].map(ids)).toEqual(rest);
    expect([...b].map(ids)).toEqual(next);
    expect(b.stateDict()).toEqual({ epochs: 2, epoch: null });
    // The saved order covers every sample once.
    expect([...saved.epoch!.order!].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    mp.dispose(ds.tensors);
  });

  test('checked against the loader', () => {
    const ds = data();
    const shuffled = new mp.data.DataLoader(ds, { batchSize: 3, shuffle: true });
    const plain = new mp.data.DataLoader(ds, { batchSize: 3 });
    expect(() => shuffled.loadStateDict({ epochs: 1, epoch: { order: null, nextBatch: 1 } })).toThrow(/permutation/);
    expect(() => shuffled.loadStateDict({ epochs: 1, epoch: { order: new Int32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 8]), nextBatch: 1 } })).toThrow(/twice/);
    expect(() => plain.loadStateDict({ epochs: 1, epoch: { order: new Int32Array(10), nextBatch: 1 } })).toThrow(/does not shuffle/);
    expect(() => plain.loadStateDict({ epochs: 1, epoch: { order: null, nextBatch: 5 } })).toThrow(/at most the 4 batches/);
    plain.loadStateDict({ epochs: 1, epoch: { order: null, nextBatch: 3 } });
    expect([...plain].map(ids)).toEqual([[9]]);
    mp.dispose(ds.tensors);
  });
});
