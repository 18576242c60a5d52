// The published type declarations: `npm run build:ts` output (declarations only, built here
// into a temporary node_modules/ravdl) compiled with a user's file (consumer.ts.txt) under
// skipLibCheck false and no ambient Node types (types: []). Every public op function carries
// JSDoc, and a function named like a catalog op carries that op's doc string.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import * as Ops from '../../lib/ops/index.js';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ravdl-dts-'));
const pkg = join(dir, 'node_modules', 'ravdl');
let program: ts.Program;

const show = (ds: readonly ts.Diagnostic[]) => ds.map((d) => `${d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start!).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);

beforeAll(() => {
  // The build's own options (tsconfig.build.json), declarations only, into the package folder.
  const cfg = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), { outDir: join(pkg, 'dist'), emitDeclarationOnly: true, declarationMap: false, sourceMap: false }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(show([d]).join('\n'));
    },
  })!;
  const build = ts.createProgram(cfg.fileNames, cfg.options);
  const emitted = build.emit();
  expect(show([...ts.getPreEmitDiagnostics(build), ...emitted.diagnostics]), 'build:ts diagnostics').toEqual([]);
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app', 'consumer.ts'), readFileSync(join(import.meta.dirname, 'consumer.ts.txt')));
  program = ts.createProgram([join(dir, 'app', 'consumer.ts')], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: false,
    types: [],
    noEmit: true,
  });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the .d.ts files', () => {
  it('compile with a consumer under skipLibCheck false and no Node types; the @ts-expect-error lines are errors', () => {
    expect(program.getSourceFiles().some((f) => f.fileName.includes('/node_modules/@types/node/')), 'no Node types in the program').toBe(false);
    expect(program.getSourceFiles().some((f) => f.fileName.endsWith('/ravdl/dist/index.d.ts')), 'ravdl resolved to the built declarations').toBe(true);
    expect(show(ts.getPreEmitDiagnostics(program))).toEqual([]);
    // The expected errors are there: ts reports an unused @ts-expect-error, so removing one of
    // those errors (a looser type) fails the check above.
    expect(readFileSync(join(import.meta.dirname, 'consumer.ts.txt'), 'utf8').match(/@ts-expect-error/g)!.length).toBeGreaterThanOrEqual(6);
  });

  it('every public op function has JSDoc, with its catalog op\'s doc string where it has one', () => {
    const checker = program.getTypeChecker();
    const consumer = program.getSourceFile(join(dir, 'app', 'consumer.ts'))!;
    const spec = consumer.statements.find((s): s is ts.ImportDeclaration => ts.isImportDeclaration(s) && (s.moduleSpecifier as ts.StringLiteral).text === 'ravdl')!.moduleSpecifier;
    const exports = new Map(checker.getExportsOfModule(checker.getSymbolAtLocation(spec)!).map((s) => [s.name, s]));
    const plumbing = new Set(['ops', 'getOp', 'callOp', 'onDispatch', 'dispatch', 'defineOp', 'unbroadcast']);
    const problems: string[] = [];
    let checked = 0;
    for (const [name, v] of Object.entries(Ops)) {
      if (typeof v !== 'function' || plumbing.has(name) || name.startsWith('_')) continue;
      const sym = exports.get(name);
      if (!sym) {
        problems.push(`${name}: not exported by ravdl's index.d.ts`);
        continue;
      }
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      const sigs = checker.getTypeOfSymbol(target).getCallSignatures();
      const doc = [ts.displayPartsToString(target.getDocumentationComment(checker)), ...sigs.map((s) => ts.displayPartsToString(s.getDocumentationComment(checker)))].join('\n');
      const catalog = R.ops().get(name)?.doc;
      if (!doc.trim()) problems.push(`${name}: no JSDoc`);
      else if (catalog && !doc.includes(catalog)) problems.push(`${name}: its JSDoc lacks the catalog's doc "${catalog}"`);
      checked++;
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });
});
