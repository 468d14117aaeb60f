import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { Public } from '@app/auth';

/** What is running: the package's name and version, and the git commit it was built from when known. */
export interface BuildInfo {
  name: string;
  version: string;
  /** GIT_COMMIT when set (an image built outside the repository), else the checkout's HEAD; absent when neither is known. */
  commit?: string;
}

/** The nearest package.json above `from` (src/ under tsx, dist/ when compiled, /app in the image). */
function findPackageJson(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** HEAD of the checkout at `root` without running git (the image has none): a detached hash, a loose ref or a packed one. */
export function gitCommit(root: string): string | undefined {
  try {
    let gitDir = join(root, '.git');
    if (!existsSync(gitDir)) return undefined;
    // A worktree's .git is a file naming the real directory.
    if (statSync(gitDir).isFile())
      gitDir = resolve(
        root,
        readFileSync(gitDir, 'utf8')
          .replace(/^gitdir:\s*/, '')
          .trim(),
      );
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40,64}$/.test(head)) return head;
    const ref = /^ref:\s*(.+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    const commonDir = existsSync(join(gitDir, 'commondir'))
      ? resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim())
      : gitDir;
    for (const dir of [gitDir, commonDir]) {
      const loose = join(dir, ref);
      if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    }
    const packed = join(commonDir, 'packed-refs');
    if (!existsSync(packed)) return undefined;
    const line = readFileSync(packed, 'utf8')
      .split('\n')
      .find((l) => l.endsWith(` ${ref}`));
    return line?.split(' ')[0];
  } catch {
    return undefined;
  }
}

let cached: BuildInfo | undefined;

/** Read once: the version does not change while the process runs. */
export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  if (cached) return cached;
  const path = findPackageJson(__dirname);
  const pkg = path ? (JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string }) : {};
  const commit = env.GIT_COMMIT?.trim() || (path ? gitCommit(dirname(path)) : undefined);
  cached = { name: pkg.name ?? 'unknown', version: pkg.version ?? '0.0.0', ...(commit ? { commit } : {}) };
  return cached;
}

@Public()
@Controller('version')
export class VersionController {
  /** GET /version: no token needed, nothing clinical in it. */
  @Get()
  @ApiOperation({
    summary: 'What is running',
    description:
      'The package name and version, and the git commit it was built from when known (GIT_COMMIT, else the checkout). No token needed.',
  })
  @ApiOkResponse({
    description: 'The build.',
    schema: {
      type: 'object',
      required: ['name', 'version'],
      properties: { name: { type: 'string' }, version: { type: 'string', example: '0.1.0' }, commit: { type: 'string' } },
    },
  })
  version(): BuildInfo {
    return buildInfo();
  }
}
