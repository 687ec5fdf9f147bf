// writeFiles: folders made, content replaced, never through a symlink. removePaths: files, then
// folders (kept while something else is in them); gone paths are fine. listFolder and readFiles:
// what is there, each file on its own. All of them work beneath a base folder and follow no
// symlink below it.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { constants, tmpdir } from 'node:os';
import * as path from 'node:path';
import { batch, listFolder, readFiles, removePaths, writeFiles } from '../../../lib/kernel';
import { describeKernel, expectInvalidArgument } from '../../helpers/kernel';

describeKernel('writeFiles and removePaths', () => {
  let dir: string;
  let decoy: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cnm-files-'));
    decoy = mkdtempSync(path.join(tmpdir(), 'cnm-decoy-'));
    writeFileSync(path.join(decoy, 'hosts'), 'decoy');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(decoy, { recursive: true, force: true });
  });

  it('writes files, making their folders, and replaces what was there', async () => {
    await writeFiles(dir, [{ path: 'x/y/hosts', content: 'first\n' }]);
    await writeFiles(dir, [{ path: 'x/y/hosts', content: 'second\n' }]);
    const file = path.join(dir, 'x', 'y', 'hosts');
    expect(readFileSync(file, 'utf8')).toBe('second\n');
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it('gives a file in a folder it made, beside an old one, the mode asked for whatever the umask', async () => {
    await writeFiles(dir, [{ path: 'x/y/hosts', content: 'old\n' }]);
    const umask = process.umask(0o077);
    try {
      await writeFiles(dir, [
        { path: 'x/z/hosts', content: 'new\n' },
        { path: 'x/z/resolv.conf', content: 'nameserver 10.0.0.1\n' },
      ]);
    } finally {
      process.umask(umask);
    }
    for (const file of ['x/z/hosts', 'x/z/resolv.conf']) expect(statSync(path.join(dir, file)).mode & 0o777).toBe(0o644);
    expect(readFileSync(path.join(dir, 'x', 'z', 'hosts'), 'utf8')).toBe('new\n');
    expect(readFileSync(path.join(dir, 'x', 'y', 'hosts'), 'utf8')).toBe('old\n');
  });

  it('makes a missing base folder', async () => {
    await writeFiles(path.join(dir, 'new', 'base'), [{ path: 'hosts', content: 'x' }]);
    expect(readFileSync(path.join(dir, 'new', 'base', 'hosts'), 'utf8')).toBe('x');
  });

  it('never writes through a symlink', async () => {
    const target = path.join(dir, 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, path.join(dir, 'link'));
    await expect(writeFiles(dir, [{ path: 'link', content: 'x' }])).rejects.toMatchObject({ code: 'ELOOP', syscall: 'open' });
    expect(readFileSync(target, 'utf8')).toBe('untouched');
  });

  it('never writes into a folder below the base that is a symlink (ELOOP), in place or atomically', async () => {
    symlinkSync(decoy, path.join(dir, 'sandbox'));
    for (const atomic of [false, true]) {
      await expect(batch([{ op: 'writeFiles', base: dir, atomic, files: [{ path: 'sandbox/hosts', content: 'x' }] }])).rejects.toMatchObject({
        code: 'ELOOP',
        syscall: 'open',
        message: expect.stringContaining(path.join(dir, 'sandbox')),
      });
    }
    expect(readdirSync(decoy)).toEqual(['hosts']);
    expect(readFileSync(path.join(decoy, 'hosts'), 'utf8')).toBe('decoy');
  });

  it('never goes through a symlink further down either: write, durable write, remove, list, read', async () => {
    mkdirSync(path.join(decoy, 'y'));
    writeFileSync(path.join(decoy, 'y', 'hosts'), 'decoy');
    mkdirSync(path.join(dir, 'x'));
    symlinkSync(decoy, path.join(dir, 'x', 'link'));
    const through = 'x/link/y/hosts';
    for (const mode of [{}, { atomic: true }, { atomic: true, durable: true }]) {
      await expect(batch([{ op: 'writeFiles', base: dir, ...mode, files: [{ path: through, content: 'x' }] }])).rejects.toMatchObject({
        code: 'ELOOP',
        message: expect.stringContaining(path.join(dir, 'x', 'link')),
      });
    }
    await expect(removePaths(dir, [through])).rejects.toMatchObject({ code: 'ELOOP' });
    await expect(listFolder(dir, 'x/link/y')).rejects.toMatchObject({ code: 'ELOOP' });
    expect((await readFiles(dir, [through]))[0]).toMatchObject({ errno: constants.errno.ELOOP });
    expect(readdirSync(path.join(decoy, 'y'))).toEqual(['hosts']);
    expect(readFileSync(path.join(decoy, 'y', 'hosts'), 'utf8')).toBe('decoy');
  });

  it("replaces a temporary file an interrupted write left, but never through a symlink or into a FIFO in the temporary file's place", async () => {
    mkdirSync(path.join(dir, 'store'));
    const record = path.join(dir, 'store', 'r.json');
    writeFileSync(`${record}.tmp`, 'half a rec');
    await batch([{ op: 'writeFiles', base: dir, atomic: true, durable: true, files: [{ path: 'store/r.json', content: '{}', mode: 0o600 }] }]);
    expect(readFileSync(record, 'utf8')).toBe('{}');
    expect(statSync(record).mode & 0o777).toBe(0o600);
    expect(existsSync(`${record}.tmp`)).toBe(false);
    symlinkSync(path.join(decoy, 'hosts'), `${record}.tmp`);
    await expect(batch([{ op: 'writeFiles', base: dir, atomic: true, files: [{ path: 'store/r.json', content: 'x' }] }])).rejects.toMatchObject({
      code: 'ELOOP',
      syscall: 'open',
    });
    // The failed write removes what is in the temporary file's place: the symlink, not its target.
    expect(existsSync(`${record}.tmp`)).toBe(false);
    execFileSync('mkfifo', [`${record}.tmp`]);
    await expect(batch([{ op: 'writeFiles', base: dir, atomic: true, files: [{ path: 'store/r.json', content: 'x' }] }])).rejects.toMatchObject({
      code: 'ENXIO',
      syscall: 'open',
    });
    expect(readFileSync(record, 'utf8')).toBe('{}');
    expect(readFileSync(path.join(decoy, 'hosts'), 'utf8')).toBe('decoy');
  });

  it('refuses to write over a FIFO without blocking, and over a folder', async () => {
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    mkdirSync(path.join(dir, 'folder'));
    await expect(writeFiles(dir, [{ path: 'fifo', content: 'x' }])).rejects.toMatchObject({ code: 'ENXIO', syscall: 'open' });
    await expect(writeFiles(dir, [{ path: 'folder', content: 'x' }])).rejects.toMatchObject({ code: 'EISDIR', syscall: 'open' });
  });

  it('removes files and then their emptied folder, and accepts paths already gone', async () => {
    const folder = path.join(dir, 'a');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'hosts'), 'x');
    await removePaths(dir, ['a/hosts', 'a/missing', 'a/', 'gone/', 'gone/hosts']);
    expect(existsSync(folder)).toBe(false);
    await removePaths(path.join(dir, 'no-base'), ['hosts']);
  });

  it('never removes through a folder below the base that is a symlink; a symlink named as a file goes itself', async () => {
    symlinkSync(decoy, path.join(dir, 'sandbox'));
    symlinkSync(path.join(decoy, 'hosts'), path.join(dir, 'hosts'));
    await expect(removePaths(dir, ['sandbox/hosts'])).rejects.toMatchObject({ code: 'ELOOP', syscall: 'open' });
    await expect(removePaths(dir, ['sandbox/'])).rejects.toMatchObject({ code: 'ENOTDIR', syscall: 'rmdir' });
    await removePaths(dir, ['hosts']);
    expect(existsSync(path.join(dir, 'hosts'))).toBe(false);
    expect(lstatSync(path.join(dir, 'sandbox')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(decoy, 'hosts'), 'utf8')).toBe('decoy');
  });

  it("leaves a folder that still holds someone else's file", async () => {
    const folder = path.join(dir, 'b');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'theirs'), 'x');
    await removePaths(dir, ['b/']);
    expect(existsSync(path.join(folder, 'theirs'))).toBe(true);
  });

  it('refuses a relative base and paths that leave the base before touching anything', async () => {
    await expectInvalidArgument(removePaths('relative', ['file']));
    for (const bad of ['/abs', '../decoy/hosts', 'a/../../hosts', 'a//b', './hosts', '']) {
      await expectInvalidArgument(removePaths(dir, [bad]));
      await expectInvalidArgument(writeFiles(dir, [{ path: bad, content: 'x' }]));
    }
    expect(readFileSync(path.join(decoy, 'hosts'), 'utf8')).toBe('decoy');
  });
});

describeKernel('listFolder and readFiles', () => {
  let dir: string;
  let decoy: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cnm-read-'));
    decoy = mkdtempSync(path.join(tmpdir(), 'cnm-decoy-'));
    writeFileSync(path.join(decoy, 'secret'), 'decoy');
    mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(path.join(dir, 'a', 'b', 'one.json'), '{"one":1}');
    writeFileSync(path.join(dir, 'a', 'b', 'two.json'), '');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(decoy, { recursive: true, force: true });
  });

  it('lists a folder beneath the base, or the base itself; a missing one is empty', async () => {
    expect((await listFolder(dir, 'a/b')).sort()).toEqual(['one.json', 'two.json']);
    expect(await listFolder(dir)).toEqual(['a']);
    expect(await listFolder(dir, 'a/missing')).toEqual([]);
    expect(await listFolder(path.join(dir, 'no-base'), 'a')).toEqual([]);
  });

  it('never lists through a symlink below the base (ELOOP), nor a file (ENOTDIR)', async () => {
    symlinkSync(decoy, path.join(dir, 'a', 'link'));
    await expect(listFolder(dir, 'a/link')).rejects.toMatchObject({ code: 'ELOOP', syscall: 'open' });
    await expect(listFolder(dir, 'a/b/one.json')).rejects.toMatchObject({ code: 'ENOTDIR', syscall: 'open' });
  });

  it('reads each regular file; a missing one, a symlink, a FIFO (without blocking) and a folder get their own error', async () => {
    symlinkSync(path.join(decoy, 'secret'), path.join(dir, 'a', 'b', 'link.json'));
    symlinkSync(decoy, path.join(dir, 'a', 'linked'));
    execFileSync('mkfifo', [path.join(dir, 'a', 'b', 'fifo.json')]);
    const reads = await readFiles(dir, ['a/b/one.json', 'a/b/two.json', 'a/b/gone.json', 'a/b/link.json', 'a/linked/secret', 'a/b/fifo.json', 'a/b']);
    expect(reads).toEqual([
      { content: '{"one":1}' },
      { content: '' },
      { error: expect.stringContaining('No such file'), errno: 2 },
      { error: 'a symlink, not a regular file: not followed', errno: 40 },
      { error: expect.stringContaining(`open ${dir}/a/linked`), errno: 40 },
      { error: 'not a regular file', errno: 22 },
      { error: 'not a regular file', errno: 22 },
    ]);
    expect(await readFiles(path.join(dir, 'no-base'), ['x'])).toEqual([{ error: expect.stringContaining('No such file'), errno: 2 }]);
  });

  it('reads a file larger than one read', async () => {
    const big = 'x'.repeat(100_000);
    writeFileSync(path.join(dir, 'big'), big);
    expect(await readFiles(dir, ['big'])).toEqual([{ content: big }]);
  });

  it('refuses a relative base and paths that leave the base', async () => {
    await expectInvalidArgument(listFolder('relative'));
    await expectInvalidArgument(readFiles('relative', ['x']));
    for (const bad of ['/abs', '../decoy', 'a/../..', 'a//b', './a', '']) {
      await expectInvalidArgument(listFolder(dir, bad));
      await expectInvalidArgument(readFiles(dir, [bad]));
    }
  });
});
