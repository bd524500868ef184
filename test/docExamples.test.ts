// Every TSDoc `@example` in lib/ is real code: each one is transpiled and run here with `mp`
// bound to the package and nothing else in scope, so an example that calls a renamed or
// unexported function, or leans on a variable it never declares, fails this test.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

import * as mp from '../lib';
import { noGpuReason, skippedBecause } from './helpers/skipReason';

interface Example { where: string; code: string }

const libDir = path.join(__dirname, '..', 'lib');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The code of one example: its fenced blocks, or else its inline `code` spans. */
function exampleCode(body: string): string {
  const fenced = [...body.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (fenced.length > 0) return fenced.join('\n');
  return [...body.matchAll(/`([^`]+)`/g)].map((m) => m[1]).join(';\n');
}

function collectExamples(source: string, file: string): Example[] {
  const examples: Example[] = [];
  for (const comment of source.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    // Comment text without the delimiters and each line's leading ` * `.
    const text = comment[0].slice(3, -2).split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n');
    const commentLine = source.slice(0, comment.index).split('\n').length;
    for (const tag of text.matchAll(/@example\b/g)) {
      const rest = text.slice(tag.index + '@example'.length);
      // The example runs to the next block tag (`@param`, `@returns`, another `@example`...).
      const end = rest.search(/(^|\n)\s*@[a-z]+/);
      const body = end < 0 ? rest : rest.slice(0, end);
      const line = commentLine + text.slice(0, tag.index).split('\n').length - 1;
      examples.push({ where: `${path.relative(libDir, file)}:${line}`, code: exampleCode(body) });
    }
  }
  return examples;
}

const examples = tsFiles(libDir).sort().flatMap((f) => collectExamples(fs.readFileSync(f, 'utf8'), f));
// An example needs a GPU when it names the 'cuda' device, moves a module there with `.cuda()`,
// or calls an mp.cuda function other than the queries that answer without one.
const needsGpu = (e: Example): boolean =>
  /['"]cuda(:\d+)?['"]|\.cuda\(|mp\.cuda\.(?!isAvailable|deviceCount|isBf16Supported)\w+\(/.test(e.code);
const onGpu = mp.cuda.isAvailable();
const runnable = examples.filter((e) => onGpu || !needsGpu(e));
const gpuOnly = examples.filter((e) => !onGpu && needsGpu(e));

const quiet = { log: () => {}, info: () => {}, warn: () => {}, error: () => {}, table: () => {} };
// The test framework's and the module wrapper's names, shadowed so an example cannot use them.
const hidden = ['expect', 'test', 'it', 'describe', 'jest', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach',
  'module', '__filename', '__dirname', 'global', 'globalThis', 'process', 'Buffer'];
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;

/** Runs one example: `import ... from 'mixprec'` resolves to the package, nothing else does. */
async function run(code: string): Promise<void> {
  const out = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    reportDiagnostics: true,
  });
  const errors = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (errors.length > 0) throw new SyntaxError(errors.join('; '));
  const requireMixprec = (id: string): unknown => {
    if (id === 'mixprec') return mp;
    throw new Error(`an example may import only 'mixprec', not '${id}'`);
  };
  // A block around the code lets `import * as mp` shadow the `mp` parameter.
  const fn = new AsyncFunction('mp', 'require', 'exports', 'console', ...hidden, `{\n${out.outputText}\n}`);
  await fn(mp, requireMixprec, {}, quiet, ...hidden.map(() => undefined));
}

test('lib/ has doc examples and each has code', () => {
  expect(examples.length).toBeGreaterThan(250);
  expect(examples.filter((e) => e.code.trim() === '').map((e) => e.where)).toEqual([]);
});

test('the collector finds fenced and inline examples with their lines', () => {
  const src = ['/**', ' * Doc.', ' * @example', ' * ```ts', ' * mp.zeros([1]);', ' * ```', ' */', '/** Two. @example `mp.ones([2])`, `mp.zeros([2])` */'].join('\n');
  expect(collectExamples(src, path.join(libDir, 'x.ts'))).toEqual([
    { where: 'x.ts:3', code: 'mp.zeros([1]);\n' },
    { where: 'x.ts:8', code: 'mp.ones([2]);\nmp.zeros([2])' },
  ]);
});

test('a throwing or undeclared-name example fails', async () => {
  await expect(run('mp.noSuchFunction()')).rejects.toThrow(TypeError);
  await expect(run('mp.neg(x)')).rejects.toThrow(ReferenceError);
  await expect(run('expect(1)')).rejects.toThrow(TypeError);
  await expect(run("import * as fs from 'node:fs'; fs.existsSync('.');")).rejects.toThrow(/only 'mixprec'/);
  await expect(run('const x = ;')).rejects.toThrow(SyntaxError);
});

test.each(runnable.map((e) => [e.where, e.code]))('%s', async (_where, code) => {
  await run(code);
});

// Without a GPU the CUDA examples cannot run; one skipped test names them all, so the report says
// which examples did not run and why instead of dropping them silently.
if (gpuOnly.length > 0) {
  test.skip(`${gpuOnly.length} examples that use CUDA: ${gpuOnly.map((e) => e.where).join(', ')} ${skippedBecause(noGpuReason())}`, () => {});
}
