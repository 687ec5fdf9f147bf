// What the addon keeps per Node environment (main thread or worker_thread): Node-API instance
// data (addon.cc), never a global. JS thread only.
#pragma once

#include <napi.h>

#include <cstddef>
#include <memory>

#include "../kernel/dns-pump.h"
#include "../kernel/error.h"
#include "../kernel/linkwatch.h"

namespace cnm {

struct AddonData;
void receive(Napi::Env env, Napi::Function callback, AddonData* data, std::nullptr_t*);
// Calls the JS receiver of the DNS pump's messages (dns.cc).
using DnsReceiver = Napi::TypedThreadSafeFunction<AddonData, std::nullptr_t, receive>;

struct AddonData {
  Napi::FunctionReference errorFactory;
  // The one listener for link events that every wait for deleted links shares; made at the first wait.
  std::unique_ptr<LinkWatcher> linkWatcher;
  // The embedded DNS servers' thread and sockets (dns.cc), while started.
  std::unique_ptr<DnsPump> dnsPump;
  DnsReceiver dnsReceiver;
};

// A NetlinkError for `error`, built by the factory lib/native passed in; `index` is the failed
// op's position in its batch.
Napi::Value makeNetlinkError(Napi::Env env, AddonData* data, const KernelError& error, size_t index);

}  // namespace cnm
