/**
 * Training checkpoints: the model, optimizer (master weights included), gradient scaler, LR
 * scheduler, random generators and data loader position in one safetensors file, written
 * atomically, so a run resumed from it continues bit for bit. See docs/checkpoints.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GradScaler, GradScalerStateDict } from '../amp/gradScaler';
import type { DataLoader } from '../data/dataLoader';
import { argTypeError, MixprecError } from '../errors';
import { dispose } from '../memory';
import type { Module } from '../nn/module';
import type { Optimizer, OptimizerStateDict, ParamState } from '../optim/optimizer';
import type { LRScheduler, SchedulerState } from '../optim/lrScheduler';
import { defaultGenerator, Generator } from '../random';
import { tensor } from '../creation';
import { Tensor } from '../tensor';
import { checkOptions, isOptionsObject, nonNegativeInteger, positiveInteger } from '../validate';
import { removeStaleTemps, writeAtomic } from './atomicFile';
import { ioError, loadWithMetadata, prepareSave, writeSafetensors } from './safetensors';

/** What a checkpoint holds; every part but `step` is optional. */
export interface CheckpointParts {
  /** Saved as `model.<name>` tensors (its stateDict). */
  model?: Module<any[], unknown>;
  /** State tensors as `optimizer.state.<index>.<key>` (PyTorch's snake_case keys: `exp_avg`), parameter groups as JSON metadata. */
  optimizer?: Optimizer<any>;
  scaler?: GradScaler;
  scheduler?: LRScheduler;
  /** The loader's epoch order (`dataLoader.order`) and position. */
  dataLoader?: DataLoader;
  /** Generators besides the default one (which is always saved), in a fixed order. */
  generator?: Generator | Generator[];
}

/** Options of {@link save}. */
export interface CheckpointSaveOptions {
  /** Keep only the newest `keep` checkpoints of the directory (default: keep all). */
  keep?: number;
}

/** What {@link load} returns besides restoring the objects. */
export interface LoadedCheckpoint {
  /** The file loaded. */
  path: string;
  step: number;
  /** The `extra` given to save (JSON data), or undefined. */
  extra: unknown;
}

const FORMAT = 'mixprec.checkpoint/1';
const FILE = /^checkpoint-(\d+)\.safetensors$/;
const PART_KEYS = ['model', 'optimizer', 'scaler', 'scheduler', 'dataLoader', 'generator'];

/** The file name of the checkpoint of `step`, zero-padded so names sort by step. */
function fileName(step: number): string {
  return `checkpoint-${String(step).padStart(10, '0')}.safetensors`;
}

/** PyTorch's spelling in the file (`expAvgSq` → `exp_avg_sq`, `initialLr` → `initial_lr`); mixprec's in memory. */
const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (name: string): string => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
const renameKeys = (o: Record<string, unknown>, rename: (k: string) => string): Record<string, unknown> => Object.fromEntries(Object.entries(o).map(([k, v]) => [rename(k), v]));

// JSON has no Infinity or NaN; hyper-parameters may hold them.
const toJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? { $number: String(x) } : x));
const fromJson = (text: string): unknown =>
  JSON.parse(text, (_k, x) => (isOptionsObject(x) && Object.keys(x).length === 1 && typeof x.$number === 'string' ? Number(x.$number) : x));

function generatorState(g: Generator): { seed: string; offset: string } {
  const { seed, offset } = g.getState();
  return { seed: seed.toString(), offset: offset.toString() };
}

function generatorList(op: string, value: unknown): Generator[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  list.forEach((g, i) => {
    if (!(g instanceof Generator)) throw argTypeError(op, Array.isArray(value) ? `parts.generator[${i}]` : 'parts.generator', 'a Generator', g);
  });
  return list as Generator[];
}

/** Checkpoint files of `dir`, oldest first. */
function listCheckpoints(dir: string): { step: number; file: string }[] {
  return fs
    .readdirSync(dir)
    .map((name) => ({ m: FILE.exec(name), name }))
    .filter(({ m }) => m !== null)
    .map(({ m, name }) => ({ step: Number(m![1]), file: path.join(dir, name) }))
    .sort((a, b) => a.step - b.step);
}

function checkParts(op: string, parts: unknown): Record<string, unknown> {
  if (!isOptionsObject(parts)) throw argTypeError(op, 'parts', 'an object {model, optimizer, scaler, scheduler, dataLoader, generator, ...}', parts);
  return parts;
}

/**
 * Saves a checkpoint of `step` into `dir` (created if missing) as `checkpoint-<step>.safetensors`,
 * atomically: a crash leaves the previous checkpoints intact and never a partial file under a
 * checkpoint's name. The default generator's state is always saved. Returns the file's path.
 *
 * @example
 * ```ts
 * const dir = '/tmp/mixprec-ckpt-example';
 * const model = new mp.nn.Linear(4, 2);
 * const optimizer = new mp.optim.Adam(model.parameters(), { lr: 1e-3 });
 * mp.checkpoint.save(dir, { model, optimizer, step: 100, extra: { bestLoss: 0.25 } }, { keep: 3 });
 * const { step, extra } = mp.checkpoint.load(dir, { model, optimizer }); // 100, { bestLoss: 0.25 }
 * ```
 */
export function save(dir: string, parts: CheckpointParts & { step: number; extra?: unknown }, options?: CheckpointSaveOptions): string {
  const op = 'checkpoint.save';
  if (typeof dir !== 'string' || dir.length === 0) throw argTypeError(op, 'dir', 'a directory path string', dir);
  // Own properties only (a polluted Object.prototype must not add parts).
  const p = checkOptions(op, checkParts(op, parts), [...PART_KEYS, 'step', 'extra']) as unknown as CheckpointParts & { step: number; extra?: unknown };
  const step = nonNegativeInteger(op, 'parts.step', p.step);
  const o = checkOptions(op, options, ['keep']);
  const keep = o.keep === undefined ? undefined : positiveInteger(op, 'options.keep', o.keep);
  const { model, optimizer, scaler, scheduler, dataLoader } = p;
  const tensors = new Map<string, Tensor>();
  const metadata: Record<string, string> = { format: FORMAT, step: String(step) };
  const owned: Tensor[] = [];
  try {
    if (model !== undefined) for (const [name, t] of Object.entries(model.stateDict())) tensors.set(`model.${name}`, t);
    if (optimizer !== undefined) {
      const sd = optimizer.stateDict();
      for (const [index, state] of Object.entries(sd.state)) for (const [key, t] of Object.entries(state)) tensors.set(`optimizer.state.${index}.${snake(key)}`, t);
      metadata.optimizer = toJson({ param_groups: sd.paramGroups.map((g) => renameKeys(g, snake)) });
    }
    if (scaler !== undefined) metadata.scaler = toJson(scaler.stateDict());
    if (scheduler !== undefined) metadata.scheduler = toJson(scheduler.stateDict());
    if (dataLoader !== undefined) {
      const { epochs, epoch } = dataLoader.stateDict();
      metadata.dataLoader = toJson({ epochs, nextBatch: epoch?.nextBatch ?? null, shuffled: epoch?.order != null });
      if (epoch?.order) {
        const order = tensor(epoch.order);
        owned.push(order);
        tensors.set('dataLoader.order', order);
      }
    }
    metadata.generators = toJson({ default: generatorState(defaultGenerator), passed: generatorList(op, p.generator).map(generatorState) });
    if (p.extra !== undefined) {
      const text = toJson(p.extra);
      if (text === undefined) throw argTypeError(op, 'parts.extra', 'JSON data', p.extra);
      metadata.extra = text;
    }
    const input = prepareSave(op, tensors, { metadata });
    try {
      fs.mkdirSync(dir, { recursive: true });
      removeStaleTemps(dir);
    } catch (e) {
      throw ioError(op, dir, e);
    }
    const file = path.join(dir, fileName(step));
    writeAtomic(op, file, (fd, temp) => writeSafetensors(op, temp, fd, input));
    if (keep !== undefined) for (const old of listCheckpoints(dir).slice(0, -keep)) fs.rmSync(old.file, { force: true });
    return file;
  } finally {
    dispose(owned);
  }
}

/** The file a load reads: `target` itself, or the newest checkpoint of the directory `target`. */
function resolveFile(op: string, target: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (e) {
    throw new MixprecError('ERR_CHECKPOINT_NOT_FOUND', `${op}: no checkpoint at '${target}' (${(e as Error).message})`);
  }
  if (!stat.isDirectory()) return target;
  const all = listCheckpoints(target);
  if (all.length === 0) throw new MixprecError('ERR_CHECKPOINT_NOT_FOUND', `${op}: the directory '${target}' holds no checkpoint-<step>.safetensors file`);
  return all[all.length - 1].file;
}

function formatError(op: string, file: string, what: string): MixprecError {
  return new MixprecError('ERR_CHECKPOINT_FORMAT', `${op}: '${file}' ${what}`);
}

/**
 * Restores the objects given from a checkpoint: the newest one of a directory, or the file
 * named. Each object passed must have its part in the checkpoint; parts not asked for are
 * ignored. The default generator is always restored (exact resume needs it). Tensors load to
 * the CPU first and are copied to each object's device and dtype.
 *
 * @example
 * ```ts
 * const dir = '/tmp/mixprec-ckpt-load-example';
 * const model = new mp.nn.Linear(4, 2);
 * mp.checkpoint.save(dir, { model, step: 1 });
 * const resumed = new mp.nn.Linear(4, 2);
 * mp.checkpoint.load(dir, { model: resumed }); // resumed's weights equal model's
 * ```
 */
export function load(target: string, parts: CheckpointParts = {}): LoadedCheckpoint {
  const op = 'checkpoint.load';
  if (typeof target !== 'string' || target.length === 0) throw argTypeError(op, 'target', 'a checkpoint directory or file path', target);
  const p = checkOptions(op, checkParts(op, parts), PART_KEYS) as CheckpointParts;
  const generators = generatorList(op, p.generator);
  const file = resolveFile(op, target);
  const { tensors, metadata } = loadWithMetadata(file);
  try {
    if (metadata.format !== FORMAT) throw formatError(op, file, `is not a mixprec checkpoint (its metadata 'format' is ${JSON.stringify(metadata.format)}, expected ${JSON.stringify(FORMAT)})`);
    const json = (key: string): unknown => {
      if (metadata[key] === undefined) throw formatError(op, file, `has no '${key}' part to restore`);
      try {
        return fromJson(metadata[key]);
      } catch {
        throw formatError(op, file, `has metadata '${key}' that is not JSON`);
      }
    };
    const step = Number(metadata.step);
    if (!Number.isSafeInteger(step) || step < 0) throw formatError(op, file, `has a step ${JSON.stringify(metadata.step)} that is not a non-negative integer`);
    const byPrefix = (prefix: string): Map<string, Tensor> =>
      new Map(Object.entries(tensors).filter(([name]) => name.startsWith(prefix)).map(([name, t]) => [name.slice(prefix.length), t]));
    // Everything is read and checked before the first object changes.
    const saved = json('generators') as { default?: unknown; passed?: unknown };
    const states = [saved.default, ...(Array.isArray(saved.passed) ? saved.passed : [])].map((s) => {
      if (!isOptionsObject(s) || typeof s.seed !== 'string' || typeof s.offset !== 'string' || !/^\d+$/.test(s.seed) || !/^\d+$/.test(s.offset)) {
        throw formatError(op, file, "has malformed 'generators' metadata");
      }
      return { seed: BigInt(s.seed), offset: BigInt(s.offset) };
    });
    if (generators.length > states.length - 1) throw formatError(op, file, `saved ${states.length - 1} generators besides the default, but ${generators.length} were passed`);
    const modelState = p.model === undefined ? undefined : byPrefix('model.');
    if (modelState !== undefined && modelState.size === 0 && Object.keys(p.model!.stateDict()).length > 0) throw formatError(op, file, "has no 'model' part to restore");
    const optimizerState = p.optimizer === undefined ? undefined : optimizerStateDict(op, file, json('optimizer'), byPrefix('optimizer.state.'));
    const scalerState = p.scaler === undefined ? undefined : (json('scaler') as GradScalerStateDict);
    const schedulerState = p.scheduler === undefined ? undefined : (json('scheduler') as SchedulerState);
    const loaderState = p.dataLoader === undefined ? undefined : loaderStateOf(op, file, json('dataLoader'), tensors['dataLoader.order']);
    if (modelState !== undefined) p.model!.loadStateDict(modelState);
    if (optimizerState !== undefined) p.optimizer!.loadStateDict(optimizerState);
    if (scalerState !== undefined) p.scaler!.loadStateDict(scalerState);
    if (schedulerState !== undefined) p.scheduler!.loadStateDict(schedulerState);
    if (loaderState !== undefined) p.dataLoader!.loadStateDict(loaderState);
    defaultGenerator.setState(states[0]);
    generators.forEach((g, i) => g.setState(states[i + 1]));
    return { path: file, step, extra: metadata.extra === undefined ? undefined : json('extra') };
  } finally {
    dispose(tensors);
  }
}

function optimizerStateDict(op: string, file: string, saved: unknown, flat: Map<string, Tensor>): OptimizerStateDict {
  if (!isOptionsObject(saved) || !Array.isArray(saved.param_groups) || !saved.param_groups.every(isOptionsObject)) throw formatError(op, file, "has malformed 'optimizer' metadata (expected {param_groups: [...]})");
  const state: Record<number, ParamState> = {};
  for (const [name, t] of flat) {
    const m = /^(\d+)\.(.+)$/.exec(name);
    if (m === null) throw formatError(op, file, `has an optimizer tensor 'optimizer.state.${name}' not named optimizer.state.<index>.<key>`);
    (state[Number(m[1])] ??= {})[camel(m[2])] = t;
  }
  return { state, paramGroups: saved.param_groups.map((g: Record<string, unknown>) => renameKeys(g, camel)) as OptimizerStateDict['paramGroups'] };
}

function loaderStateOf(op: string, file: string, saved: unknown, order: Tensor | undefined): { epochs: number; epoch: { order: Int32Array | null; nextBatch: number } | null } {
  if (!isOptionsObject(saved) || typeof saved.epochs !== 'number') throw formatError(op, file, "has malformed 'dataLoader' metadata");
  if (saved.nextBatch === null) return { epochs: saved.epochs, epoch: null };
  if (saved.shuffled && (order === undefined || order.dtype !== 'int32' || order.ndim !== 1)) throw formatError(op, file, "lacks the int32 tensor 'dataLoader.order' its loader position needs");
  return { epochs: saved.epochs, epoch: { order: saved.shuffled ? (order!.dataSync() as Int32Array) : null, nextBatch: saved.nextBatch as number } };
}
