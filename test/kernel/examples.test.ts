// Every example runs, says what it should, and leaves nothing behind.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describeKernel, expectBackTo, snapshot } from '../helpers/kernel';

const examples = path.resolve(__dirname, '..', '..', 'examples');

describeKernel('examples', () => {
  it('container-pair: B and the host reach A over TCP', async () => {
    const before = snapshot();
    const out = execFileSync(process.execPath, [path.join(examples, 'container-pair.js')], { encoding: 'utf8' });
    expect(out).toContain('B -> A over TCP, echoed: "hello from B"');
    expect(out).toContain('host -> A over TCP, echoed: "hello from the host"');
    expect(out).toContain('cleaned up');
    await expectBackTo(before);
  });
});
