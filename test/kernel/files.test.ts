// writeFiles: folders made, content replaced, never through a symlink. removePaths: files, then
// folders (kept while something else is in them); gone paths are fine.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { removePaths, writeFiles } from '../../lib';
import { describeKernel, expectInvalidArgument } from '../helpers/kernel';

describeKernel('writeFiles and removePaths', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cnm-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes files, making their folders, and replaces what was there', async () => {
    const file = path.join(dir, 'x', 'y', 'hosts');
    await writeFiles([{ path: file, content: 'first\n' }]);
    await writeFiles([{ path: file, content: 'second\n' }]);
    expect(readFileSync(file, 'utf8')).toBe('second\n');
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it('never writes through a symlink', async () => {
    const target = path.join(dir, 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, path.join(dir, 'link'));
    await expect(writeFiles([{ path: path.join(dir, 'link'), content: 'x' }])).rejects.toMatchObject({ code: 'ELOOP', syscall: 'open' });
    expect(readFileSync(target, 'utf8')).toBe('untouched');
  });

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
