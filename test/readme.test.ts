// The README's code blocks are programs, and this file runs them, so the README cannot drift
// from the API. Every ```ts / ```js block is a whole program; in a scratch consumer project whose
// node_modules/mixprec links to this checkout (so `mixprec` is the built dist/, exports map
// included), each block is
//   - type-checked as a CommonJS (.cts) and as an ES module (.mts) file, as a user's tsc would
//     (this is what catches a top-level `await` in a CommonJS file, which TypeScript refuses);
//   - transpiled to .cjs and .mjs and run by node, blocks in README order (the inference block
//     reads the weights the training block saved), with test/helpers/readmePreload.js swapping
//     the MNIST digits for a small subset and reporting the tensors still alive at exit.
// A run must exit 0 and leave no live tensor. Fences in other languages (sh, text) are not run.
// About 15-25 s on two shared cores: one type-check program and two chains of child processes.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';

const root = path.join(__dirname, '..');
const preload = path.join(__dirname, 'helpers', 'readmePreload.js');
const run = promisify(execFile);

interface Block { line: number; lang: string; code: string }

/** Every fenced block with its info string's first word and the README line its code starts on. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  for (const m of markdown.matchAll(/^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm)) {
    const line = markdown.slice(0, m.index).split('\n').length + 1;
    blocks.push({ line, lang: m[1].trim().split(/\s+/)[0], code: m[2] });
  }
  return blocks;
}

const runnableLangs = new Set(['ts', 'js']);
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = fencedBlocks(readme);
const programs = blocks.filter((b) => runnableLangs.has(b.lang));

type Mode = 'cjs' | 'esm';
const modes: Mode[] = ['cjs', 'esm'];
const sourceExt: Record<Mode, string> = { cjs: '.cts', esm: '.mts' };
const outputExt: Record<Mode, string> = { cjs: '.cjs', esm: '.mjs' };
const moduleKind: Record<Mode, ts.ModuleKind> = { cjs: ts.ModuleKind.CommonJS, esm: ts.ModuleKind.ESNext };

/** A scratch project per mode: node_modules/mixprec → this checkout, @types/node for `node:fs`. */
function makeProject(dir: string): void {
  fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'mixprec'), 'dir');
  fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'readme-consumer', private: true }));
}

/** Type-checks the given files as one program, as a consumer's strict Node16 tsc would; diagnostics per file. */
function typeCheck(files: string[]): Map<string, string[]> {
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const byFile = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName ?? '';
    const where = d.file && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    const list = byFile.get(path.resolve(file)) ?? byFile.get(file);
    const message = `${where}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    if (list) list.push(message);
    else throw new Error(`type check: ${file}: ${message}`);
  }
  return byFile;
}

interface Outcome { exitCode: number; stdout: string; stderr: string; leakedTensors: number | undefined; liveBytes: number | undefined }

/** Transpiles `code` for the mode, writes it into `dir` as `name` and runs it with the preload. */
async function runProgram(dir: string, name: string, code: string, mode: Mode, digits: string): Promise<Outcome> {
  const js = ts.transpileModule(code, { compilerOptions: { module: moduleKind[mode], target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const file = path.join(dir, name + outputExt[mode]);
  const memory = path.join(dir, `${name}.memory.json`);
  fs.writeFileSync(file, js);
  fs.rmSync(memory, { force: true });
  const env = { ...process.env, MIXPREC_README_DIGITS: digits, MIXPREC_README_MEMORY: memory };
  let outcome: Omit<Outcome, 'leakedTensors' | 'liveBytes'>;
  try {
    const { stdout, stderr } = await run(process.execPath, ['--require', preload, file], { cwd: dir, env, timeout: 60_000, maxBuffer: 1 << 24 });
    outcome = { exitCode: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    outcome = { exitCode: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
  const report = fs.existsSync(memory) ? (JSON.parse(fs.readFileSync(memory, 'utf8')) as { numTensors: number; numBytes: number }) : undefined;
  return { ...outcome, leakedTensors: report?.numTensors, liveBytes: report?.numBytes };
}

/** Writes every 8th training digit and every 10th test digit (all classes, 1000 and 201) for the preload. */
function writeDigitSubset(file: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mp = require(path.join(root, 'dist')) as typeof import('../lib');
  const { train, test } = mp.data.mnist();
  const parts: Buffer[] = [];
  const counts: Record<string, number> = {};
  for (const [name, ds, stride] of [['train', train, 8], ['test', test, 10]] as const) {
    const [images, labels] = ds.tensors;
    const all = images.dataSync() as Float32Array;
    const allLabels = labels.dataSync() as Int32Array;
    const picked = Array.from({ length: Math.ceil(ds.length / stride) }, (_, i) => i * stride);
    const subImages = new Float32Array(picked.length * 784);
    picked.forEach((d, i) => subImages.set(all.subarray(d * 784, (d + 1) * 784), i * 784));
    parts.push(Buffer.from(subImages.buffer), Buffer.from(Int32Array.from(picked, (d) => allLabels[d]).buffer));
    counts[name] = picked.length;
  }
  mp.dispose([train.tensors, test.tensors]);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(JSON.stringify(counts) + '\n'), ...parts]));
}

let scratch: string;
let digits: string;
/** Type-check diagnostics of every file written below: one program, since loading the types is the slow part. */
let checked: Map<string, string[]>;
const sourceFile = (mode: Mode, i: number) => path.join(scratch, mode, `block${i}${sourceExt[mode]}`);
const awaitCode = "import * as mp from 'mixprec';\nconsole.log(await mp.ones([1]).data());\n";
const awaitFile = () => path.join(scratch, 'selfcheck', 'cjs', 'topLevelAwait.cts');
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-readme-'));
  for (const mode of modes) makeProject(path.join(scratch, mode));
  fs.mkdirSync(path.join(scratch, 'selfcheck'));
  makeProject(path.join(scratch, 'selfcheck', 'cjs'));
  digits = path.join(scratch, 'digits.bin');
  writeDigitSubset(digits);
  const files = modes.flatMap((mode) => programs.map((p, i) => {
    fs.writeFileSync(sourceFile(mode, i), p.code);
    return sourceFile(mode, i);
  }));
  fs.writeFileSync(awaitFile(), awaitCode);
  checked = typeCheck([...files, awaitFile()]);
});
afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('every fence names its language, and the README has the first, training, inference and mixed-precision programs', () => {
  expect(blocks.filter((b) => b.lang === '').map((b) => `README.md:${b.line}`)).toEqual([]);
  const has = (pattern: RegExp) => programs.some((p) => pattern.test(p.code));
  expect(programs.length).toBeGreaterThanOrEqual(4);
  expect([has(/mp\.tidy/), has(/argmax/), has(/loadStateDict/), has(/GradScaler/)]).toEqual([true, true, true, true]);
});

test('examples/first.mjs is the README\'s first program', () => {
  const first = fs.readFileSync(path.join(root, 'examples', 'first.mjs'), 'utf8');
  const body = first.split('\n').filter((l) => !l.startsWith('//')).join('\n').replace("'../dist/index.mjs'", "'mixprec'");
  expect(body).toBe(programs[0].code);
});

// The harness must be able to fail: a top-level await in a CommonJS file, and a loop that leaks.
test('the harness rejects a CommonJS top-level await and reports a leak', async () => {
  const dir = path.join(scratch, 'selfcheck', 'cjs');
  expect(checked.get(awaitFile())?.join('\n')).toMatch(/TS1309|TS1375|TS1378|top-level 'await'/i);
  const leak = "import * as mp from 'mixprec';\nconst x = mp.ones([4]);\nfor (let i = 0; i < 5; ++i) x.add(1);\nx.dispose();\n";
  const [awaited, leaked] = await Promise.all([runProgram(dir, 'topLevelAwait', awaitCode, 'cjs', digits), runProgram(dir, 'leak', leak, 'cjs', digits)]);
  expect(awaited.exitCode).not.toBe(0);
  expect(awaited.stderr).toMatch(/SyntaxError/);
  expect([leaked.exitCode, leaked.leakedTensors]).toEqual([0, 5]);
});

describe('README programs', () => {
  const cases = modes.flatMap((mode) => programs.map((p, i) => ({ mode, i, where: `README.md:${p.line}` })));
  test.each(cases)('$where type-checks as $mode', ({ mode, i }) => {
    expect(checked.get(sourceFile(mode, i))).toEqual([]);
  });

  // Each mode runs the blocks in order in its own project, the two modes side by side.
  test.each(programs.map((p, i) => ({ i, where: `README.md:${p.line}` })))('$where runs as CommonJS and as an ES module, leaving no live tensor', async ({ i }) => {
    const outcomes = await Promise.all(modes.map((mode) => runProgram(path.join(scratch, mode), `block${i}`, programs[i].code, mode, digits)));
    for (const [k, o] of outcomes.entries()) {
      const summary = { mode: modes[k], exitCode: o.exitCode, leakedTensors: o.leakedTensors, stderr: o.stderr.trim() };
      expect(summary).toEqual({ mode: modes[k], exitCode: 0, leakedTensors: 0, stderr: '' });
    }
  });
});
