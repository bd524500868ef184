/**
 * PyTorch-like text for tensors: `tensor([[1.0000, 2.5000], ...], shape=[2, 2], dtype=float16, device='cpu')`.
 * Large tensors show their first and last 3 entries per dimension, as PyTorch's repr does.
 */
import type { DType } from './dtype';

const SUMMARIZE_ABOVE = 1000;
const EDGE_ITEMS = 3;

type Formatter = (v: number) => string;

function makeFormatter(values: ArrayLike<number>, dtype: DType): Formatter {
  if (dtype === 'bool') return (v) => (v ? 'true' : 'false');
  if (dtype === 'int32') return (v) => String(v);
  let allIntegral = true;
  let maxAbs = 0;
  let minAbs = Infinity;
  for (let i = 0; i < values.length; ++i) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const a = Math.abs(v);
    if (!Number.isInteger(v)) allIntegral = false;
    if (a > maxAbs) maxAbs = a;
    if (a > 0 && a < minAbs) minAbs = a;
  }
  const special = (v: number): string | undefined => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : undefined);
  const scientific = maxAbs >= 1e8 || (minAbs !== Infinity && minAbs < 1e-4) || (maxAbs / minAbs > 1000 && !allIntegral);
  if (allIntegral && maxAbs < 1e8) return (v) => special(v) ?? `${Object.is(v, -0) ? '-0' : v.toFixed(0)}.`;
  if (scientific) return (v) => special(v) ?? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
  return (v) => special(v) ?? v.toFixed(4);
}

/** The part of each dimension that is shown, or everything when not summarizing. */
function shownIndices(size: number, summarize: boolean): number[] | [number[], number[]] {
  const all = Array.from({ length: size }, (_, i) => i);
  if (!summarize || size <= 2 * EDGE_ITEMS) return all;
  return [all.slice(0, EDGE_ITEMS), all.slice(size - EDGE_ITEMS)];
}

export function formatTensor(values: ArrayLike<number>, shape: readonly number[], dtype: DType, device: string): string {
  const summarize = values.length > SUMMARIZE_ABOVE;
  const strides: number[] = [];
  let s = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    strides[d] = s;
    s *= shape[d];
  }
  // Format only the shown values, so width and style follow what is printed.
  const shown: number[] = [];
  const collect = (dim: number, base: number): void => {
    if (dim === shape.length) {
      shown.push(values[base]);
      return;
    }
    const idx = shownIndices(shape[dim], summarize);
    const flat = Array.isArray(idx[0]) ? [...(idx[0] as number[]), ...(idx[1] as number[])] : (idx as number[]);
    for (const i of flat) collect(dim + 1, base + i * strides[dim]);
  };
  collect(0, 0);
  const fmt = makeFormatter(shown, dtype);
  const width = shown.reduce((w, v) => Math.max(w, fmt(v).length), 0);
  const cell = (v: number) => fmt(v).padStart(width);
  const indent = 'tensor('.length;
  const render = (dim: number, base: number): string => {
    if (dim === shape.length) return cell(values[base]);
    const idx = shownIndices(shape[dim], summarize);
    const part = (list: number[]) => list.map((i) => render(dim + 1, base + i * strides[dim]));
    const items = Array.isArray(idx[0]) ? [...part(idx[0] as number[]), '...', ...part(idx[1] as number[])] : part(idx as number[]);
    if (dim === shape.length - 1) return `[${items.join(', ')}]`;
    const sep = `,${'\n'.repeat(shape.length - dim - 1)}${' '.repeat(indent + dim + 1)}`;
    return `[${items.join(sep)}]`;
  };
  const body = shape.length === 0 ? cell(values[0]) : render(0, 0);
  return `tensor(${body}, shape=[${shape.join(', ')}], dtype=${dtype}, device='${device}')`;
}
