/**
 * The static import closure of each service's start-up: which repository files `apps/<app>/src/main.ts` loads,
 * and which of them belong to another app. A service should load its own context and the libs, nothing else.
 *
 *   npx tsx scripts/import-closure.ts [--root <dir>] [entry...]     (default: every apps/<app>/src/main.ts)
 *
 * Imports are read with the TypeScript compiler (`ts.preProcessFile`) and resolved with `ts.resolveModuleName`
 * and the options of <root>/tsconfig.json, so `@app/<lib>` and `@app/<lib>/<path>` follow its `paths`, a
 * directory resolves to its index.ts, and packages in node_modules are left out. Type-only imports count too:
 * `preProcessFile` does not tell them apart, and a type-only import still couples the code to the other side.
 * `require()` and `import()` with a literal specifier are followed as well.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface Closure {
  /** The entry, relative to the root, with `/` separators. */
  entry: string;
  /** The app the entry belongs to (`apps/<app>/...`), or undefined for an entry outside apps/. */
  app: string | undefined;
  /** Every repository .ts file in the closure, the entry included, sorted. */
  files: string[];
  /** The files of other apps in the closure, by app. */
  otherApps: Record<string, string[]>;
  /** Specifiers that resolved to nothing (relative or @app/ ones only: a missing package is not ours to count). */
  unresolved: string[];
}

/** The app a repository path belongs to: `apps/<app>/...`. */
export function appOf(file: string): string | undefined {
  const match = /^apps\/([^/]+)\//.exec(file);
  return match?.[1];
}

/** Every `apps/<app>/src/main.ts` under the root, sorted. */
export function serviceEntries(root: string): string[] {
  const appsDir = join(root, 'apps');
  return readdirSync(appsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(appsDir, entry.name, 'src', 'main.ts')))
    .map((entry) => `apps/${entry.name}/src/main.ts`)
    .sort();
}

function compilerOptions(root: string): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath);
  return parsed.options;
}

/** Builds closures for several entries over one module-resolution cache. */
export function importClosures(root: string, entries: readonly string[] = serviceEntries(root)): Closure[] {
  const absoluteRoot = resolve(root);
  const options = compilerOptions(absoluteRoot);
  const cache = ts.createModuleResolutionCache(absoluteRoot, (name) => name, options);
  const toRepo = (path: string) => relative(absoluteRoot, path).split(sep).join('/');
  const importsOf = new Map<string, { files: string[]; unresolved: string[] }>();

  const readImports = (file: string) => {
    const known = importsOf.get(file);
    if (known) return known;
    const source = readFileSync(file, 'utf8');
    const found = { files: [] as string[], unresolved: [] as string[] };
    for (const { fileName: specifier } of ts.preProcessFile(source, true, true).importedFiles) {
      const resolved = ts.resolveModuleName(specifier, file, options, ts.sys, cache).resolvedModule;
      const target = resolved ? resolve(resolved.resolvedFileName) : undefined;
      const inRepository =
        target !== undefined &&
        !resolved?.isExternalLibraryImport &&
        !target.split(sep).includes('node_modules') &&
        !relative(absoluteRoot, target).startsWith('..') &&
        /\.tsx?$/.test(target) &&
        !target.endsWith('.d.ts');
      if (inRepository) found.files.push(target);
      else if (!target && (specifier.startsWith('.') || specifier.startsWith('@app/')))
        found.unresolved.push(`${toRepo(file)}: '${specifier}'`);
    }
    importsOf.set(file, found);
    return found;
  };

  return entries.map((entry) => {
    const start = resolve(absoluteRoot, entry);
    if (!existsSync(start)) throw new Error(`No such entry: ${entry}`);
    const seen = new Set<string>([start]);
    const unresolved: string[] = [];
    const queue = [start];
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const found = readImports(file);
      unresolved.push(...found.unresolved);
      for (const next of found.files) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    const files = [...seen].map(toRepo).sort();
    const app = appOf(toRepo(start));
    const otherApps: Record<string, string[]> = {};
    for (const file of files) {
      const owner = appOf(file);
      if (owner !== undefined && owner !== app) (otherApps[owner] ??= []).push(file);
    }
    return { entry: toRepo(start), app, files, otherApps, unresolved };
  });
}

function main(argv: string[]): void {
  let root = resolve(__dirname, '..');
  const entries: string[] = [];
  let list = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--root') root = resolve(argv[++i] ?? '.');
    else if (arg === '--counts') list = false;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npx tsx scripts/import-closure.ts [--root <dir>] [--counts] [entry...]');
      return;
    } else entries.push(arg);
  }
  const closures = importClosures(root, entries.length > 0 ? entries.map((entry) => relative(root, resolve(entry))) : serviceEntries(root));
  for (const closure of closures) {
    const others = Object.entries(closure.otherApps);
    const foreign = others.reduce((sum, [, files]) => sum + files.length, 0);
    const summary = others.map(([app, files]) => `${app} ${files.length}`).join(', ');
    console.log(`${closure.entry}: ${closure.files.length} files; other apps' files: ${foreign}${summary ? ` (${summary})` : ''}`);
    if (list) {
      for (const [app, files] of others) {
        console.log(`  ${app}:`);
        for (const file of files) console.log(`    ${file}`);
      }
    }
    for (const miss of closure.unresolved) console.log(`  unresolved: ${miss}`);
  }
}

if (require.main === module) main(process.argv.slice(2));
