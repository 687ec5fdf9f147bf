// The embedded DNS servers' pump as the library sees it: resolvers by id, each with its own
// receiver. The addon's thread (native/kernel/dns-pump.h) runs while at least one resolver is
// attached, so a process without sandbox resolvers has no such thread.
import createDebug from '../util/debug';
import { loadBinding } from './loader';
import type { DnsMessage, DnsSockets } from './types';

const debug = createDebug('cnm:native');

/** Serves the sockets of every sandbox's resolver on one thread. */
export interface DnsPump {
  /**
   * Hands a resolver's sockets over (the pump owns them from now on) and returns the resolver's id;
   * `receive` gets each message that arrives on them, on the JS thread.
   */
  attach(sockets: DnsSockets, receive: (message: DnsMessage) => void): number;
  /**
   * Queues messages to send (replies, forwarded queries); never waits for a socket. Called from a
   * receiver, they go out together with the other replies of the same batch of arrivals.
   */
  send(messages: DnsMessage[]): void;
  /**
   * The names changed: replies sent with their `query` are not given again by the pump. Holds for
   * every query that arrives after the call returns.
   */
  forget(): void;
  /** Closes a resolver's sockets; the pump's thread ends with the last one. */
  detach(id: number): void;
}

const receivers = new Map<number, (message: DnsMessage) => void>();
let nextId = 1;
/**
 * What the receivers send while a batch of arrivals is dispatched (their replies): it goes to the
 * addon in one call at the end, which wakes the pump's thread once, not once per reply.
 */
let outbox: DnsMessage[] | null = null;

function dispatch(messages: DnsMessage[]): void {
  outbox = [];
  try {
    for (const message of messages) {
      const receive = receivers.get(message.id);
      if (!receive) continue; // detached meanwhile
      try {
        receive(message);
      } catch (err) {
        debug('dns receiver of %d threw: %s', message.id, (err as Error).message); // never into the addon's callback
      }
    }
  } finally {
    const replies = outbox;
    outbox = null;
    sendNow(replies);
  }
}

function sendNow(messages: DnsMessage[]): void {
  // No receiver left: the pump is stopped, and what was for them has nowhere to go.
  if (messages.length > 0 && receivers.size > 0) loadBinding().dnsSend(messages);
}

function freeId(): number {
  while (receivers.has(nextId) || nextId === 0) nextId = (nextId + 1) >>> 0;
  const id = nextId;
  nextId = (nextId + 1) >>> 0;
  return id;
}

/** The pump of the addon. */
export const nativeDnsPump: DnsPump = {
  attach(sockets, receive) {
    const binding = loadBinding();
    if (receivers.size === 0) binding.dnsStart(dispatch);
    const id = freeId();
    receivers.set(id, receive);
    binding.dnsAttach(id, sockets.udp, sockets.tcp, sockets.netns);
    return id;
  },
  send(messages) {
    if (outbox) outbox.push(...messages);
    else sendNow(messages);
  },
  forget() {
    // No receiver: the pump is stopped, and keeps nothing.
    if (receivers.size > 0) loadBinding().dnsForget();
  },
  detach(id) {
    if (!receivers.delete(id)) return;
    const binding = loadBinding();
    binding.dnsDetach(id);
    if (receivers.size === 0) binding.dnsStop();
  },
};
