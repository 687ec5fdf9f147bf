// The DNS pump's JS side: the replies the receivers send while a batch of arrivals is dispatched
// reach the addon in one call (one wake-up of the pump's thread, not one per reply).
import type { DnsMessage } from '../../lib/native/types';
import { fakeBinding } from '../helpers/fake-binding';

const sent: DnsMessage[][] = [];
let deliver: (messages: DnsMessage[]) => void = () => undefined;
const binding = {
  ...fakeBinding(() => Promise.resolve([])),
  dnsStart: (receive: (messages: DnsMessage[]) => void) => void (deliver = receive),
  dnsSend: (messages: DnsMessage[]) => void sent.push(messages),
};
jest.mock('../../lib/native/loader', () => ({ loadBinding: () => binding }));

import { nativeDnsPump } from '../../lib/native/dns-pump';

const sockets = { udp: 10, tcp: 11, netns: 12, udpPort: 1, tcpPort: 2 };
const query = (id: number, n: number): DnsMessage => ({ id, channel: 0, conn: 0, peer: Buffer.alloc(16), data: Buffer.from([n]) });
const replyTo = (m: DnsMessage): DnsMessage => ({ ...m, data: Buffer.from([m.data[0] + 100]) });

describe('the DNS pump', () => {
  const attached: number[] = [];
  const attach = (receive: (m: DnsMessage) => void) => {
    const id = nativeDnsPump.attach(sockets, receive);
    attached.push(id);
    return id;
  };
  afterEach(() => {
    attached.splice(0).forEach((id) => nativeDnsPump.detach(id));
    sent.length = 0;
  });

  it('sends the replies of one batch of arrivals in one call, in order, also past a receiver that throws', () => {
    const a = attach((m) => nativeDnsPump.send([replyTo(m)]));
    const b = attach((m) => {
      if (m.data[0] === 3) throw new Error('bad query');
      nativeDnsPump.send([replyTo(m)]);
    });
    deliver([query(a, 1), query(b, 2), query(b, 3), query(a, 4)]);
    expect(sent.map((batch) => batch.map((m) => [m.id, m.data[0]]))).toEqual([
      [
        [a, 101],
        [b, 102],
        [a, 104],
      ],
    ]);
  });

  it('sends at once outside a batch (a forwarder timing out), and nothing once no resolver is left', () => {
    const a = attach(() => undefined);
    nativeDnsPump.send([query(a, 7)]);
    expect(sent).toHaveLength(1);
    deliver([query(a, 8)]);
    expect(sent).toHaveLength(1); // no reply, no call
    nativeDnsPump.detach(a);
    nativeDnsPump.send([query(a, 9)]);
    expect(sent).toHaveLength(1);
  });
});
