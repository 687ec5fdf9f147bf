// What the addon keeps per Node environment (main thread or worker_thread): Node-API instance
// data (addon.cc), never a global. JS thread only.
#pragma once

#include <napi.h>

#include <cstddef>
#include <memory>

#include "../kernel/error.h"
#include "../kernel/linkwatch.h"

namespace cnm {

struct AddonData {
  Napi::FunctionReference errorFactory;
  // The one listener for link events that every wait for deleted links shares; made at the first wait.
  std::unique_ptr<LinkWatcher> linkWatcher;
};

// A NetlinkError for `error`, built by the factory lib/native passed in; `index` is the failed
// op's position in its batch.
Napi::Value makeNetlinkError(Napi::Env env, AddonData* data, const KernelError& error, size_t index);

}  // namespace cnm
