import { linkList } from '../../lib';
import { describeKernel } from '../helpers/kernel';

describeKernel('smoke', () => {
  it('lists the loopback link of the test namespace', async () => {
    const links = await linkList();
    expect(links.map((l) => l.name)).toContain('lo');
  });
});
