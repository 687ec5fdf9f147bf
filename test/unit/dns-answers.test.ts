// The embedded DNS server's answers without a kernel: name records per network, the reply to each
// kind of query (A, AAAA, PTR, NODATA, SERVFAIL, forward, truncation) and the forwarder's rules.
import * as dnsPacket from 'dns-packet';
import { answerQuery, reverseAddress, ANSWER_TTL } from '../../lib/dns/answer';
import { Forwarder } from '../../lib/dns/forwarder';
import { DnsRecords, type DnsNetwork } from '../../lib/dns/records';
import { sockaddr } from '../../lib/dns/sockaddr';
import { DNS_CHANNEL, type DnsMessage } from '../../lib/native';

const A: DnsNetwork = { id: 'net-a', name: 'alpha' };
const B: DnsNetwork = { id: 'net-b', name: 'beta' };

function records(): DnsRecords {
  const r = new DnsRecords();
  r.add(A.id, { endpointId: 'e1', names: ['web', 'www'], ipv4: '10.0.0.2', ipv6: null });
  r.add(A.id, { endpointId: 'e2', names: ['db', 'svc'], ipv4: '10.0.0.3', ipv6: 'fd00::3' });
  r.add(A.id, { endpointId: 'e3', names: ['cache', 'svc'], ipv4: '10.0.0.4', ipv6: null });
  r.add(B.id, { endpointId: 'e4', names: ['web'], ipv4: '10.1.0.2', ipv6: null });
  return r;
}

function query(name: string, type: dnsPacket.RecordType, extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });
}

function ask(r: DnsRecords, networks: DnsNetwork[], q: Buffer, transport: 'udp' | 'tcp' = 'udp', mayForward = false) {
  const source = { resolve: (n: string, f: 4 | 6) => r.resolve(networks, n, f), reverse: (a: string) => r.reverse(networks, a) };
  const outcome = answerQuery(q, source, transport, () => mayForward);
  return outcome && 'reply' in outcome ? dnsPacket.decode(outcome.reply) : outcome;
}

const datas = (p: unknown) => ((p as dnsPacket.Packet).answers ?? []).map((a) => (a as { data: string }).data);

describe('DnsRecords', () => {
  it('finds a name only in the given networks, case-insensitively, the first network first', () => {
    const r = records();
    expect(r.resolve([A], 'WEB', 4)).toEqual({ addresses: ['10.0.0.2'] });
    expect(r.resolve([B, A], 'web', 4)).toEqual({ addresses: ['10.1.0.2'] });
    expect(r.resolve([B], 'db', 4)).toBeNull();
  });

  it('finds NAME.NETWORK in that network', () => {
    const r = records();
    expect(r.resolve([A, B], 'web.beta', 4)).toEqual({ addresses: ['10.1.0.2'] });
    expect(r.resolve([B], 'db.alpha', 4)).toBeNull(); // not joined to alpha
  });

  it('gives NODATA for a name without an address of the family', () => {
    expect(records().resolve([A], 'web', 6)).toEqual({ noData: true });
  });

  it('rotates the addresses of a shared name', () => {
    const r = records();
    const first = (r.resolve([A], 'svc', 4) as { addresses: string[] }).addresses;
    const second = (r.resolve([A], 'svc', 4) as { addresses: string[] }).addresses;
    expect([...first].sort()).toEqual(['10.0.0.3', '10.0.0.4']);
    expect(second).toEqual([...first].reverse());
  });

  it('says after every add and every remove that the names changed', () => {
    let changes = 0;
    const r = new DnsRecords(() => changes++);
    r.add(A.id, { endpointId: 'e1', names: ['web'], ipv4: '10.0.0.2', ipv6: null });
    r.remove(A.id, 'e1');
    r.remove(A.id, 'e1'); // nothing left to remove
    expect(changes).toBe(2);
  });

  it('drops the names an endpoint had when it is added again with others; a remove leaves the names it shares', () => {
    const r = new DnsRecords();
    r.add(A.id, { endpointId: 'e1', names: ['old', 'both'], ipv4: '10.0.0.2', ipv6: null });
    r.add(A.id, { endpointId: 'e2', names: ['both'], ipv4: '10.0.0.3', ipv6: null });
    r.add(A.id, { endpointId: 'e1', names: ['new', 'both'], ipv4: '10.0.0.5', ipv6: null });
    expect(r.resolve([A], 'old', 4)).toBeNull();
    expect(r.reverse([A], '10.0.0.2')).toBeNull();
    expect(r.resolve([A], 'new', 4)).toEqual({ addresses: ['10.0.0.5'] });
    r.remove(A.id, 'e1');
    expect(r.resolve([A], 'new', 4)).toBeNull();
    expect(r.resolve([A], 'both', 4)).toEqual({ addresses: ['10.0.0.3'] });
  });

  it('forgets an endpoint at once, and its PTR', () => {
    const r = records();
    expect(r.reverse([A], '10.0.0.3')).toBe('db.alpha');
    r.remove(A.id, 'e2');
    expect(r.resolve([A], 'db', 4)).toBeNull();
    expect(r.resolve([A], 'svc', 4)).toEqual({ addresses: ['10.0.0.4'] });
    expect(r.reverse([A], '10.0.0.3')).toBeNull();
  });
});

describe('answerQuery', () => {
  it('answers A with TTL 600, the question and id repeated, RD copied and RA set', () => {
    const reply = ask(records(), [A], query('web', 'A')) as dnsPacket.DecodedPacket;
    expect(reply).toMatchObject({ id: 4242, type: 'response', rcode: 'NOERROR', flag_rd: true, flag_ra: true, flag_tc: false });
    expect(reply.questions).toEqual([{ name: 'web', type: 'A', class: 'IN' }]);
    expect(reply.answers).toEqual([expect.objectContaining({ name: 'web', type: 'A', ttl: ANSWER_TTL, data: '10.0.0.2' })]);
  });

  it('gives each reply memory of its own: a later reply leaves an earlier one as it was', () => {
    const source = { resolve: (n: string, f: 4 | 6) => records().resolve([A], n, f), reverse: () => null };
    const first = answerQuery(query('web', 'A'), source, 'udp', () => false) as { reply: Buffer };
    const copy = Buffer.from(first.reply);
    answerQuery(query('cache', 'A', { id: 7 }), source, 'udp', () => false);
    expect(first.reply).toEqual(copy);
  });

  it('answers AAAA, and NODATA for a name without IPv6', () => {
    expect(datas(ask(records(), [A], query('db', 'AAAA')))).toEqual(['fd00::3']);
    const nodata = ask(records(), [A], query('web', 'AAAA')) as dnsPacket.DecodedPacket;
    expect(nodata).toMatchObject({ rcode: 'NOERROR', answers: [] });
  });

  it('answers PTR for IPv4 and IPv6 addresses', () => {
    expect(datas(ask(records(), [A], query('3.0.0.10.in-addr.arpa', 'PTR')))).toEqual(['db.alpha']);
    const v6 = `${'fd00'.padEnd(31, '0').concat('3').split('').reverse().join('.')}.ip6.arpa`;
    expect(reverseAddress(v6)).toBe('fd00::3');
    expect(datas(ask(records(), [A], query(v6, 'PTR')))).toEqual(['db.alpha']);
    expect(reverseAddress('3.0.0.10.in-addr.arpa')).toBe('10.0.0.3');
    expect(reverseAddress('x.0.0.10.in-addr.arpa')).toBeNull();
  });

  it('forwards an unknown name when it may, else SERVFAIL; other types and classes are not local', () => {
    expect(ask(records(), [A], query('example.com', 'A'), 'udp', true)).toEqual({ forward: true });
    expect(ask(records(), [A], query('example.com', 'A'), 'udp', false)).toMatchObject({ rcode: 'SERVFAIL' });
    expect(ask(records(), [A], query('web', 'MX'), 'udp', true)).toEqual({ forward: true });
  });

  it('marks as repeatable the local answers of one record or none, not those whose order rotates, SERVFAIL or NOTIMP', () => {
    const source = { resolve: (n: string, f: 4 | 6) => records().resolve([A], n, f), reverse: (a: string) => records().reverse([A], a) };
    const repeatable = (q: Buffer) => (answerQuery(q, source, 'udp', () => false) as { repeatable?: true }).repeatable === true;
    expect(repeatable(query('web', 'A'))).toBe(true);
    expect(repeatable(query('web', 'AAAA'))).toBe(true); // NODATA
    expect(repeatable(query('3.0.0.10.in-addr.arpa', 'PTR'))).toBe(true);
    expect(repeatable(query('svc', 'A'))).toBe(false); // two addresses, rotated per query
    expect(repeatable(query('example.com', 'A'))).toBe(false); // SERVFAIL: depends on the upstreams
    expect(repeatable(query('web', 'A', { flags: 2 << 11 }))).toBe(false); // NOTIMP
  });

  it('drops what is not a query', () => {
    expect(ask(records(), [A], Buffer.from('garbage'))).toBeNull();
    const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'web', type: 'A', class: 'IN' }] });
    expect(ask(records(), [A], response)).toBeNull();
  });

  it('cuts a UDP answer above 512 bytes (or the EDNS size) and sets TC; TCP gets it whole', () => {
    const r = new DnsRecords();
    const name = 'a-long-name-to-fill-the-answer-quickly-with-records';
    for (let i = 0; i < 20; i++) r.add(A.id, { endpointId: `m${i}`, names: [name], ipv4: `10.0.1.${i + 1}`, ipv6: null });
    const udp = ask(r, [A], query(name, 'A')) as dnsPacket.DecodedPacket;
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers!.length).toBeLessThan(20);
    expect(dnsPacket.encode(udp).length).toBeLessThanOrEqual(512);
    const tcp = ask(r, [A], query(name, 'A'), 'tcp') as dnsPacket.DecodedPacket;
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers).toHaveLength(20);
    const edns = query(name, 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as dnsPacket.Answer] });
    expect((ask(r, [A], edns) as dnsPacket.DecodedPacket).answers).toHaveLength(20);
  });
});

describe('Forwarder', () => {
  const upstreams = [
    { address: '192.0.2.1', port: 53, fromHost: false },
    { address: 'fd00::53', port: 53, fromHost: true },
  ];
  const client = { channel: DNS_CHANNEL.udp, conn: 0, peer: sockaddr('127.0.0.1', 40000) };
  const tcpClient = { channel: DNS_CHANNEL.tcp, conn: 3, peer: Buffer.alloc(0) };

  /** The outcome the pump reports for an exchange: the server's reply, or a failure (no data). */
  function outcome(sent: DnsMessage, reply: { rcode?: number; name?: string } | 'failed' = {}): DnsMessage {
    if (reply === 'failed') return { ...sent, data: Buffer.alloc(0) };
    const decoded = dnsPacket.decode(sent.data);
    const questions = reply.name ? [{ name: reply.name, type: 'A' as const, class: 'IN' as const }] : decoded.questions;
    const data = dnsPacket.encode({ type: 'response', id: decoded.id, flags: reply.rcode ?? 0, questions, answers: [] });
    return { ...sent, data };
  }

  it("sends the query with an id of its own, one exchange per ask, and gives the reply back with the client's id", () => {
    const sent: DnsMessage[] = [];
    const forwarder = new Forwarder(7, (m) => sent.push(m));
    forwarder.forward(query('example.com', 'A'), client, upstreams);
    forwarder.forward(query('example.org', 'A'), client, upstreams);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatchObject({ id: 7, channel: DNS_CHANNEL.forward, peer: sockaddr('192.0.2.1', 53) });
    expect(sent[0].conn).not.toBe(sent[1].conn);
    forwarder.receive(outcome(sent[0]));
    expect(sent[2]).toMatchObject({ channel: DNS_CHANNEL.udp, peer: client.peer });
    expect(dnsPacket.decode(sent[2].data).id).toBe(4242);
    // An outcome comes once: a second one for the exchange is nobody's.
    forwarder.receive(outcome(sent[0]));
    expect(sent).toHaveLength(3);
    forwarder.close();
  });

  it("forwards over the client's transport: a TCP query goes upstream over TCP", () => {
    const sent: DnsMessage[] = [];
    const forwarder = new Forwarder(7, (m) => sent.push(m));
    forwarder.forward(query('example.com', 'A'), tcpClient, upstreams);
    expect(sent[0]).toMatchObject({ channel: DNS_CHANNEL.forwardTcp });
    forwarder.receive(outcome(sent[0], 'failed'));
    expect(sent[1]).toMatchObject({ channel: DNS_CHANNEL.hostForwardTcp, peer: sockaddr('fd00::53', 53) });
    forwarder.receive(outcome(sent[1]));
    expect(sent[2]).toMatchObject({ channel: DNS_CHANNEL.tcp, conn: 3 });
    forwarder.close();
  });

  it('a reply for another question counts as a failure of that server', () => {
    const sent: DnsMessage[] = [];
    const forwarder = new Forwarder(7, (m) => sent.push(m));
    forwarder.forward(query('example.com', 'A'), client, upstreams);
    forwarder.receive(outcome(sent[0], { name: 'evil.com' }));
    expect(sent[1]).toMatchObject({ channel: DNS_CHANNEL.hostForward });
    forwarder.close();
  });

  it('asks the next upstream after a failure or a SERVFAIL (a host one from the host), then gives SERVFAIL', () => {
    const sent: DnsMessage[] = [];
    const forwarder = new Forwarder(7, (m) => sent.push(m));
    forwarder.forward(query('example.com', 'A'), client, upstreams);
    forwarder.receive(outcome(sent[0], 'failed'));
    expect(sent[1]).toMatchObject({ channel: DNS_CHANNEL.hostForward, peer: sockaddr('fd00::53', 53) });
    forwarder.receive(outcome(sent[1], { rcode: 2 }));
    expect(sent).toHaveLength(3);
    expect(dnsPacket.decode(sent[2].data)).toMatchObject({ id: 4242, rcode: 'SERVFAIL' });
    forwarder.close();
  });

  it('gives SERVFAIL at once without upstreams', () => {
    const sent: DnsMessage[] = [];
    new Forwarder(7, (m) => sent.push(m)).forward(query('example.com', 'A'), client, []);
    expect(dnsPacket.decode(sent[0].data)).toMatchObject({ rcode: 'SERVFAIL' });
  });
});

describe('sockaddr', () => {
  it('writes a sockaddr_in6 for IPv6 (address at byte 8) and refuses a zone', () => {
    const b = sockaddr('fd00::53', 53);
    expect(b).toHaveLength(28);
    expect(b.readUInt16BE(2)).toBe(53);
    expect(b.subarray(8, 24).toString('hex')).toBe('fd000000000000000000000000000053');
    expect(sockaddr('192.0.2.1', 53).subarray(4, 8)).toEqual(Buffer.from([192, 0, 2, 1]));
    expect(() => sockaddr('fe80::1%eth0', 53)).toThrow(TypeError);
  });
});
