/**
 * The README is the first thing a user runs. These checks keep it true: its first commands are the
 * quick start, its settings table has every setting of server/config.ts with its default and meaning, the
 * paths and npm scripts it names exist, the API paths in its examples are real routes, and
 * .ci/run runs the test command it gives.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../server/config.ts';
import { REPO_ROOT } from '../support/server-process.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const ciRun = join(REPO_ROOT, '.ci', 'run');

/** Shell commands of the README's sh code blocks, in order (continuation lines joined, comments dropped). */
function commandsOf(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
}

/** The text of one `## title` section. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README has a "## ${title}" section`).toBeGreaterThanOrEqual(0);
  const rest = readme.slice(start + 1);
  const end = rest.indexOf('\n## ', 1);
  return end === -1 ? rest : rest.slice(0, end);
}

/** Commands a shell script runs (comments, echo lines and blank lines dropped). */
function scriptCommands(script: string): string[] {
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('echo '));
}

const commands = commandsOf(readme);
const testCommand = commands.find((c) => /^npm (run )?test\b/.test(c));

describe('README', () => {
  it('starts with npm install, then npm start, and gives the test command before anything else', () => {
    expect(commands.slice(0, 2)).toEqual(['npm install', 'npm start']);
    expect(testCommand).toBe('npm test');
    const intro = readme.slice(0, readme.indexOf('\n## '));
    expect(commandsOf(intro)).toEqual(['npm install', 'npm start', 'npm test']);
  });

  it('has a row for every setting in server/config.ts, with its default', () => {
    const rows = section('Settings')
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
    for (const setting of SETTINGS) {
      const names = setting.name.split('/').map((n) => n.trim());
      const row = rows.find((cells) => names.every((n) => cells[0]!.includes(`\`${n}\``)));
      expect(row, `README settings table lacks ${setting.name}`).toBeDefined();
      expect(row![1], `default of ${setting.name}`).toBe(setting.default);
      // The meaning is SETTINGS' description, as `npm start -- --help` prints it.
      expect(row![2], `meaning of ${setting.name}`).toBe(setting.description);
    }
    // And nothing that is not a setting.
    const known = SETTINGS.flatMap((s) => s.name.split('/').map((n) => n.trim()));
    for (const cells of rows) {
      for (const [, name] of cells[0]!.matchAll(/`([A-Z0-9_]+)`/g)) expect(known, `README lists ${name}`).toContain(name);
    }
  });

  it('keeps the sections the lead fills in', () => {
    section('Deploying');
    section('What a plan does on failure');
  });

  it('names only paths that exist in its layout table', () => {
    const paths = [...section('Layout').matchAll(/`([\w.-]+(?:\/[\w.-]*)+|[\w-]+\.ts)`/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(10);
    for (const path of paths) {
      const candidates = path.includes('/') ? [path] : ['server', 'server/engine', 'server/domain/machines'].map((d) => join(d, path));
      expect(candidates.some((p) => existsSync(join(REPO_ROOT, p))), `README names ${path}`).toBe(true);
    }
  });

  it('runs only npm scripts that exist', () => {
    const scripts = Object.keys(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts);
    for (const [, script] of readme.matchAll(/npm run ([\w:-]+)/g)) expect(scripts, `npm run ${script}`).toContain(script);
  });

  it('calls only API paths that exist', () => {
    const openapi = JSON.parse(readFileSync(join(REPO_ROOT, 'openapi', 'openapi.json'), 'utf8')) as { paths: Record<string, unknown> };
    const routes = Object.keys(openapi.paths).map((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`));
    const used = [...readme.matchAll(/http:\/\/(?:127\.0\.0\.1|localhost):8080(\/v1\/[^\s'"?)`]*)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(5);
    for (const path of used) expect(routes.some((r) => r.test(path)), `README calls ${path}`).toBe(true);
  });
});

describe('.ci/run', () => {
  const script = readFileSync(ciRun, 'utf8');

  it('is an executable bash script that stops at the first failure', () => {
    accessSync(ciRun, constants.X_OK);
    expect(script.split('\n')[0]).toBe('#!/usr/bin/env bash');
    expect(scriptCommands(script)).toContain('set -euo pipefail');
  });

  it("does a clean install, then runs exactly the README's test command", () => {
    const lines = scriptCommands(script);
    expect(lines).toContain('npm ci');
    expect(lines).toContain(testCommand);
    expect(lines.indexOf('npm ci')).toBeLessThan(lines.indexOf(testCommand!));
    // The test command is the last thing it does, so its exit status is the script's.
    expect(lines.at(-1)).toBe(testCommand);
  });
});
