// The embedded DNS servers' pump (kernel/dns-pump.h) seen from JS: `dnsStart(receive)` starts its
// thread, `dnsAttach(id, fds)` hands it a resolver's sockets (from the `dnsSockets` op),
// `dnsSend(messages)` queues replies and queries to forward (each answered by one outcome), `dnsDetach(id)` closes a resolver's
// sockets, `dnsForget()` drops the replies kept for repeated queries (the names changed), `dnsStop()` ends the thread and closes them all.
// Received messages reach `receive` in batches (one call per batch) on the JS thread; no call here waits for a socket.
#pragma once

#include <napi.h>

namespace cnm {

Napi::Value DnsStart(const Napi::CallbackInfo& info);
Napi::Value DnsStop(const Napi::CallbackInfo& info);
Napi::Value DnsAttach(const Napi::CallbackInfo& info);
Napi::Value DnsDetach(const Napi::CallbackInfo& info);
Napi::Value DnsSend(const Napi::CallbackInfo& info);
Napi::Value DnsForget(const Napi::CallbackInfo& info);

// Stops the environment's pump, if it runs (the environment is going away).
void stopDns(void* data);

}  // namespace cnm
