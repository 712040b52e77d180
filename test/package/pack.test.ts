/**
 * The package as a user gets it: `npm pack`, install the tarball into a scratch project outside the
 * repository, then type-check (tsc, NodeNext) and run a TypeScript consumer and run a plain ESM consumer
 * that import the root and subpath entries (test/package/consumer/), and run the `bpfkit` bin through npx.
 *
 * Offline-friendly: koffi, typescript and @types/node are asked for at the versions this repository has
 * installed, with --prefer-offline, so they come from the npm cache when it holds them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';

/** The nested npm must see the scratch project, not the `npm test` that runs us: drop npm's per-run variables. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const lower = k.toLowerCase();
    if (
      lower.startsWith('npm_') &&
      !['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig', 'npm_config_cafile'].includes(lower)
    )
      continue;
    if (k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return env;
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 90_000 });
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`,
  );
  return r.stdout;
}

function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(repoPath('node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;
}

test(
  'npm pack, install the tarball in a scratch project, import it from TypeScript and ESM, run the bin',
  { timeout: 180_000 },
  (t) => {
    if (!needs(t, { tools: ['npm'] })) return;
    const dir = mkdtempSync(join(tmpdir(), 'bpfkit-pack-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));

    // The build already ran (npm test builds first), so the pack skips `prepare`.
    run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], process.cwd());
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');

    const app = join(dir, 'app');
    run('mkdir', [app], dir);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bpfkit-scratch', private: true, type: 'module' }));
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        outDir: 'out',
        skipLibCheck: false,
      },
      files: ['typed.mts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    for (const f of ['typed.mts', 'plain.mjs']) copyFileSync(repoPath('test', 'package', 'consumer', f), join(app, f));
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        join(dir, tarball),
        `typescript@${installedVersion('typescript')}`,
        `@types/node@${installedVersion('@types/node')}`,
      ],
      app,
    );

    run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], app);
    assert.match(run(process.execPath, ['out/typed.mjs'], app), /^typed: ok/m);
    assert.match(run(process.execPath, ['plain.mjs'], app), /^plain: ok/m);

    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.equal(run('npx', ['--no', '--', 'bpfkit', '--version'], app), `bpfkit ${version}\n`);
    assert.equal(run('npx', ['--no', '--', 'bpfkit', 'version'], app), `bpfkit ${version}\n`);
  },
);
