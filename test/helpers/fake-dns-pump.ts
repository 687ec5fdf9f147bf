// The DNS pump in memory for the rootless unit tests: it records what resolvers hand over and
// send, and lets a test deliver messages as the addon's thread would.
import type { DnsMessage, DnsPump, DnsSockets } from '../../lib/native';

export class FakeDnsPump implements DnsPump {
  /** Called with the descriptors a resolver hands over (the fake kernel stops counting them as loose). */
  onAttach: (fds: number[]) => void = () => undefined;
  /** The attached resolvers: their sockets and receivers, by id. */
  readonly attached = new Map<number, { sockets: DnsSockets; receive: (message: DnsMessage) => void }>();
  /** Everything sent, in order. */
  readonly sent: DnsMessage[] = [];
  private nextId = 1;

  attach(sockets: DnsSockets, receive: (message: DnsMessage) => void): number {
    const id = this.nextId++;
    this.onAttach([sockets.udp, sockets.tcp, sockets.netns]);
    this.attached.set(id, { sockets, receive });
    return id;
  }

  send(messages: DnsMessage[]): void {
    this.sent.push(...messages);
  }

  /** How many times the names changed. */
  forgets = 0;

  forget(): void {
    this.forgets++;
  }

  detach(id: number): void {
    this.attached.delete(id);
  }

  /** Delivers a message to a resolver as if it arrived on one of its sockets. */
  deliver(message: DnsMessage): void {
    this.attached.get(message.id)?.receive(message);
  }
}
