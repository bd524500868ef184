/**
 * What a GradScaler reports besides its state machine: the device counters it keeps
 * ({@link readStatistics}), the events an update emits ({@link reportEvents}), the parameters
 * that overflowed ({@link overflowReports}) and the deferred result of a step. Each costs at most
 * one asynchronous read, made only when asked for, so the training loop never waits on the host.
 */
import type { EventEmitter } from 'node:events';
import { noGrad } from '../autograd/gradMode';
import { MixprecError } from '../errors';
import type { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import type { Tensor } from '../tensor';

/** Counters the scaler keeps on its device (see {@link GradScaler.statistics}). */
export interface ScalerStatistics {
  /** Scale updates so far (one per `update()` without `newScale`). */
  steps: number;
  /** Updates whose gradients had an inf/NaN (their optimizer steps were skipped). */
  skippedSteps: number;
  growths: number;
  backoffs: number;
  /** Backoffs stopped at `minScale`. */
  floorHits: number;
  /** The current scale. */
  scale: number;
}

/** What {@link GradScaler.step} returns. */
export interface ScalerStepResult {
  /**
   * Resolves to whether the optimizer step was applied (false: skipped for inf/NaN gradients).
   * Reading it costs one asynchronous device read, made only when this property is used; read it
   * before the scaler's next-but-one `update()`. LR schedulers take the whole result:
   * `await scheduler.step(scaler.step(opt))` advances only when the step applied.
   */
  readonly applied: Promise<boolean>;
}

/** Payload of the 'skip', 'backoff', 'growth' and 'floor' events. */
export interface ScalerEvent {
  /** The update's number (1 for the first `update()`). */
  step: number;
  /** The scale after the update. */
  scale: number;
}

/** One parameter whose gradient was not finite, from {@link GradScaler.lastOverflow}. */
export interface OverflowReport {
  /** Its name in the model given to `lastOverflow`, else `paramGroups[g].params[i]`. */
  name: string;
  param: Tensor;
}

/**
 * A class, not a plain object with a getter: `mp.tidy` walks the plain objects a scope returns,
 * and reading `applied` there would make the host read the result exists to defer.
 */
export class StepResult implements ScalerStepResult {
  #applied: Promise<boolean> | undefined;
  readonly #op: string;
  readonly #found: Tensor;

  constructor(op: string, found: Tensor) {
    this.#op = op;
    this.#found = found;
  }

  get applied(): Promise<boolean> {
    this.#applied ??= this.#found.isDisposed
      ? Promise.reject(new MixprecError('ERR_DISPOSED', `${this.#op}: the step's result was read after the scaler's next-but-one update(); read 'applied' earlier`))
      : this.#found.data().then((v) => v[0] === 0);
    return this.#applied;
  }
}

/** The update events, as the bits the scale-update kernel sets in the last counter slot. */
const events = { skip: 1, backoff: 2, growth: 4, floor: 8 } as const;
/** The device counters, in the kernel's order. */
const statNames = ['steps', 'skippedSteps', 'growths', 'backoffs', 'floorHits'] as const;

/** Slots of the int32 counter tensor: the counters, then the last update's event bits. */
export const STAT_SLOTS = statNames.length + 1;
/** The slot of the floor-hit counter. */
export const FLOOR_HITS_SLOT = statNames.indexOf('floorHits');

/** What to do when a backoff hits `minScale` (GradScaler's `minScale` and `onFloor` options). */
export interface FloorWatch {
  minScale: number;
  onFloor: 'warn' | 'throw' | 'hold';
  /** Called with the error the scaler's next call throws, for `onFloor: 'throw'`. */
  fail(error: Error): void;
}

/** The counters and the scale, in one asynchronous read of each. */
export async function readStatistics(stats: Tensor, scale: Tensor): Promise<ScalerStatistics> {
  const [counters, value] = await Promise.all([stats.data(), scale.data()]);
  const out = Object.fromEntries(statNames.map((n, i) => [n, counters[i]])) as Omit<ScalerStatistics, 'scale'>;
  return { ...out, scale: value[0] };
}

/** The per-parameter overflow flags of one optimizer's (device, dtype) groups. */
export interface OverflowFlags {
  params: Tensor[];
  /** One float32 flag per parameter, non-zero where the gradient was not finite. */
  flags: Tensor;
}

/**
 * The parameters flagged in `iteration` (one read per flag tensor), named from `model` when
 * given, else by their place in the optimizer's groups.
 */
export async function overflowReports(iteration: Map<Optimizer<{ lr: number }>, { flags: OverflowFlags[] }>, model?: Module): Promise<OverflowReport[]> {
  const names = new Map<Tensor, string>();
  if (model) for (const [name, p] of model.namedParameters()) names.set(p, name);
  const reports: OverflowReport[] = [];
  for (const [optimizer, state] of iteration) {
    const location = new Map<Tensor, string>();
    optimizer.paramGroups.forEach((g, gi) => g.params.forEach((p, i) => location.set(p, `paramGroups[${gi}].params[${i}]`)));
    for (const { params, flags } of state.flags) {
      if (flags.isDisposed) continue;
      const values = await flags.data();
      params.forEach((p, i) => {
        if (values[i] !== 0) reports.push({ name: names.get(p) ?? location.get(p) ?? 'unknown parameter', param: p });
      });
    }
  }
  return reports;
}

/**
 * Emits the update's events on `scaler` after one asynchronous read of snapshots of the counters
 * and scale, only when someone listens or the floor is watched.
 */
export function reportEvents(scaler: EventEmitter, stats: Tensor, scale: Tensor, floor: FloorWatch): void {
  const watchFloor = floor.minScale > 0 && floor.onFloor !== 'hold';
  const listening = (['skip', 'backoff', 'growth', 'floor'] as const).some((e) => scaler.listenerCount(e) > 0);
  if (!watchFloor && !listening) return;
  const snapshot = noGrad(() => [stats.clone(), scale.clone()]);
  Promise.all(snapshot.map((t) => t.data()))
    .then(([counters, value]) => {
      const happened = counters[statNames.length];
      const payload: ScalerEvent = { step: counters[0], scale: value[0] };
      for (const [name, bit] of Object.entries(events)) if (happened & bit) scaler.emit(name, payload);
      if (happened & events.floor && watchFloor) {
        const message = `GradScaler: the loss scale hit its floor (minScale ${floor.minScale}) at update ${payload.step}: gradients keep overflowing; check the model for inf/NaN activations or lower the learning rate`;
        if (floor.onFloor === 'warn') process.emitWarning(message, { type: 'MixprecWarning', code: 'MIXPREC_SCALE_FLOOR' });
        else floor.fail(new MixprecError('ERR_NONFINITE', message));
      }
    })
    .catch((e: unknown) => {
      if (scaler.listenerCount('error') > 0) scaler.emit('error', e);
    })
    .finally(() => {
      for (const t of snapshot) t.dispose();
    });
}
