// The embedded DNS server's answers without a kernel: name records per network, the reply to each
// kind of query (A, AAAA, PTR, NODATA, SERVFAIL, forward, truncation) and the forwarder's rules.
import * as dnsPacket from 'dns-packet';
import { answerQuery, reverseAddress, ANSWER_TTL } from '../../lib/dns/answer';
import { Forwarder, UPSTREAM_TIMEOUT_MS } from '../../lib/dns/forwarder';
import { DnsRecords, type DnsNetwork } from '../../lib/dns/records';
import { sockaddrV4 } from '../../lib/dns/sockaddr';
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
    { address: '127.0.0.1', port: 53, fromHost: true },
  ];
  const client = { channel: DNS_CHANNEL.udp, conn: 0, peer: sockaddrV4('127.0.0.1', 40000) };

  function upstreamReply(sent: DnsMessage, from = sent.peer, rcode = 0): DnsMessage {
    const decoded = dnsPacket.decode(sent.data);
    const data = dnsPacket.encode({ type: 'response', id: decoded.id, flags: rcode, questions: decoded.questions, answers: [] });
    return { id: 7, channel: sent.channel, conn: 0, peer: from, data };
  }

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("sends the query with an id of its own and gives the upstream's reply back with the client's id", () => {
    const sent: DnsMessage[] = [];
    const forwarder = new Forwarder(7, (m) => sent.push(m));
    forwarder.forward(query('example.com', 'A'), client, upstreams);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ id: 7, channel: DNS_CHANNEL.forward, peer: sockaddrV4('192.0.2.1', 53) });
    forwarder.receive(upstreamReply(sent[0]));
    expect(sent[1]).toMatchObject({ channel: DNS_CHANNEL.udp, peer: client.peer });
    expect(dnsPacket.decode(sent[1].data).id).toBe(4242);
    forwarder.close();
  });

  it('ignores a reply from another address or for another question (spoofing)', () => {
    const sent: DnsMessage[] = [];
    const forwarder = new Forwarder(7, (m) => sent.push(m));
    forwarder.forward(query('example.com', 'A'), client, upstreams);
    forwarder.receive(upstreamReply(sent[0], sockaddrV4('192.0.2.99', 53)));
    const other = dnsPacket.encode({ type: 'response', id: dnsPacket.decode(sent[0].data).id, questions: [{ name: 'evil.com', type: 'A', class: 'IN' }] });
    forwarder.receive({ ...upstreamReply(sent[0]), data: other });
    expect(sent).toHaveLength(1);
    forwarder.close();
  });

  it('asks the next upstream after a timeout or a SERVFAIL (a host one from the host), then gives SERVFAIL', () => {
    const sent: DnsMessage[] = [];
    const forwarder = new Forwarder(7, (m) => sent.push(m));
    forwarder.forward(query('example.com', 'A'), client, upstreams);
    jest.advanceTimersByTime(UPSTREAM_TIMEOUT_MS);
    expect(sent[1]).toMatchObject({ channel: DNS_CHANNEL.hostForward, peer: sockaddrV4('127.0.0.1', 53) });
    jest.advanceTimersByTime(UPSTREAM_TIMEOUT_MS);
    expect(sent).toHaveLength(3);
    expect(dnsPacket.decode(sent[2].data)).toMatchObject({ id: 4242, rcode: 'SERVFAIL' });

    forwarder.forward(query('example.org', 'A'), client, upstreams);
    forwarder.receive(upstreamReply(sent[3], sent[3].peer, 2));
    expect(sent[4]).toMatchObject({ channel: DNS_CHANNEL.hostForward });
    forwarder.close();
  });

  it('gives SERVFAIL at once without upstreams', () => {
    const sent: DnsMessage[] = [];
    new Forwarder(7, (m) => sent.push(m)).forward(query('example.com', 'A'), client, []);
    expect(dnsPacket.decode(sent[0].data)).toMatchObject({ rcode: 'SERVFAIL' });
  });
});
