import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Reads a module's import lines (not its types) and follows its relative imports, to
 * tell which modules a file pulls in when it runs. `import type …` and `export type … from`
 * are erased by the compiler and not followed; `import { type X }` is not erased under
 * `verbatimModuleSyntax` (it loads the module) and counts as a runtime import.
 */

export interface RuntimeImport {
  /** The file that wrote the import, relative to the root. */
  from: string;
  /** What it wrote: a package name or a relative path. */
  specifier: string;
  /** For relative imports: the file it resolves to, relative to the root. */
  file?: string;
}

export interface Violation {
  /** The entry point whose import graph reaches the forbidden module. */
  entry: string;
  /** Entry first, then each file on the way, ending with the forbidden specifier. */
  chain: string[];
  rule: string;
}

export interface BoundaryRule {
  name: string;
  /** True when this import may not appear in the pure core. */
  forbids: (imp: RuntimeImport) => boolean;
}

/** The runtime imports written in one source text. */
export function runtimeImportsOf(sourceText: string, fileName = 'module.ts'): string[] {
  const sf = ts.createSourceFile(fileName, sourceText, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && !node.isTypeOnly && ts.isExternalModuleReference(node.moduleReference)) {
      const ref = node.moduleReference.expression;
      if (ts.isStringLiteral(ref)) found.push(ref.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) found.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** `./x.js` → the `.ts` file beside it (how NodeNext ESM sources name their imports). */
function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, resolve(base, 'index.ts')];
  return candidates.find((c) => /\.m?ts$/.test(c) && existsSync(c));
}

/**
 * Walks every entry's runtime import graph (relative imports only; packages are leaves) and
 * returns each forbidden import reached, with the chain of files that leads to it.
 */
export function findViolations(root: string, entries: string[], rules: BoundaryRule[]): Violation[] {
  const violations: Violation[] = [];
  for (const entry of entries) {
    const seen = new Set<string>();
    const walk = (abs: string, chain: string[]): void => {
      if (seen.has(abs)) return;
      seen.add(abs);
      const rel = relative(root, abs);
      for (const specifier of runtimeImportsOf(readFileSync(abs, 'utf8'), abs)) {
        const isRelative = specifier.startsWith('.');
        const target = isRelative ? resolveRelative(abs, specifier) : undefined;
        const imp: RuntimeImport = { from: rel, specifier, ...(target ? { file: relative(root, target) } : {}) };
        for (const rule of rules) {
          if (rule.forbids(imp)) violations.push({ entry, chain: [...chain, rel, specifier], rule: rule.name });
        }
        if (target) walk(target, [...chain, rel]);
      }
    };
    walk(resolve(root, entry), []);
  }
  return violations;
}

const NODE_IO = ['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'tls', 'dgram', 'child_process'];

/** What the pure core may not reach: Slack, the SDK, the store, the logger, the network and disk. */
export const PURE_CORE_RULES: BoundaryRule[] = [
  { name: 'no Slack runtime package (type-only @slack/types is fine)', forbids: (i) => i.specifier.startsWith('@slack/') },
  { name: 'no Anthropic SDK', forbids: (i) => i.specifier === '@anthropic-ai/sdk' || i.specifier.startsWith('@anthropic-ai/sdk/') },
  { name: 'no keyv', forbids: (i) => i.specifier === 'keyv' || i.specifier.startsWith('@keyv/') },
  { name: 'no pino', forbids: (i) => i.specifier === 'pino' || i.specifier.startsWith('pino/') },
  {
    name: 'no node I/O module',
    forbids: (i) => NODE_IO.includes(i.specifier.replace(/^node:/, '')),
  },
  { name: 'no store module', forbids: (i) => i.file !== undefined && /^src\/store\//.test(i.file) },
  { name: 'no logger', forbids: (i) => i.file === 'src/ops/logger.ts' },
];
