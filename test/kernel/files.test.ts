// removePaths: files, then folders (kept while something else is in them); gone paths are fine.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { removePaths } from '../../lib';
import { describeKernel, expectInvalidArgument } from '../helpers/kernel';

describeKernel('removePaths', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cnm-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('removes files and then their emptied folder, and accepts paths already gone', async () => {
    const folder = path.join(dir, 'a');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'hosts'), 'x');
    await removePaths([path.join(folder, 'hosts'), path.join(folder, 'missing'), `${folder}/`, `${path.join(dir, 'gone')}/`]);
    expect(existsSync(folder)).toBe(false);
  });

  it('leaves a folder that still holds someone else\'s file', async () => {
    const folder = path.join(dir, 'b');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'theirs'), 'x');
    await removePaths([`${folder}/`]);
    expect(existsSync(path.join(folder, 'theirs'))).toBe(true);
  });

  it('refuses relative paths before touching anything', async () => {
    await expectInvalidArgument(removePaths(['relative/file']));
  });
});
