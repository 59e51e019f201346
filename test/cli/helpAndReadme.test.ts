import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cliHarness';

/**
 * Issue 27: README's command table and each command's --help agree: the same commands, the same options,
 * the same exit codes (README's "exit" column is the command's `Exit:` line in --help).
 */
interface ReadmeRow {
  name: string;
  synopsis: string;
  exit: string;
}

async function readmeCommands(): Promise<ReadmeRow[]> {
  const readme = await readFile(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Command line'),
    readme.indexOf('\n## ', readme.indexOf('## Command line') + 3),
  );
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
      const synopsis = cells[1]!.replace(/`/g, '');
      return { name: synopsis.split(' ')[0]!, synopsis, exit: cells[3]!.replace(/\s+/g, ' ') };
    });
}

function optionsIn(text: string): string[] {
  return [...new Set([...text.matchAll(/--[a-z][a-z-]*/g)].map((match) => match[0]))].sort();
}

test('README lists every command of --help, and no other', async () => {
  const rows = await readmeCommands();
  const help = await runCli(['--help'], {});
  const commands = [...help.stdout.matchAll(/^ {2}([a-z-]+)(?: \[options\])? {2,}/gm)]
    .map((match) => match[1]!)
    .filter((name) => name !== 'help');
  expect(rows.map((row) => row.name).sort()).toEqual(commands.sort());
});

test("each command's options and exit codes in README are those of its --help", async () => {
  for (const row of await readmeCommands()) {
    const help = await runCli([row.name, '--help'], {});
    expect([row.name, help.code]).toEqual([row.name, 0]);
    const exit = /^Exit: (.*)$/m.exec(help.stdout)?.[1];
    expect([row.name, row.exit]).toEqual([row.name, exit]);
    // The flags that start the lines of its Options section (descriptions may mention other commands').
    const helpOptions = [...help.stdout.matchAll(/^ {2}(?:-[a-zA-Z], )?(--[a-z][a-z-]*)/gm)]
      .map((match) => match[1]!)
      .filter((option) => option !== '--help')
      .sort();
    const readmeOptions = optionsIn(row.synopsis);
    if (row.name === 'local') {
      // The table names the main ones; the fault options are listed in the text below it.
      for (const option of readmeOptions)
        expect([row.name, helpOptions]).toEqual([row.name, expect.arrayContaining([option])]);
    } else {
      expect([row.name, readmeOptions]).toEqual([row.name, helpOptions]);
    }
  }
});

test("README's exit-code table is the one --help prints", async () => {
  const readme = await readFile(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const help = (await runCli(['--help'], {})).stdout;
  for (const code of ['0', '1', '2', '130']) {
    const helpLine = new RegExp(`^ {2}${code} +(.+)$`, 'm').exec(help)?.[1];
    expect([code, helpLine]).toEqual([code, expect.any(String)]);
    expect(readme).toMatch(new RegExp(`^\\| ${code} +\\|`, 'm'));
  }
});
