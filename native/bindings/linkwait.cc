#include "linkwait.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "addon-data.h"
#include "../kernel/batch.h"

namespace cnm {

namespace {

struct PendingWait;
void settle(Napi::Env env, Napi::Function, std::nullptr_t*, PendingWait* wait);
using SettleFunction = Napi::TypedThreadSafeFunction<std::nullptr_t, PendingWait, settle>;

// One pending wait: its promise, settled on the JS thread through a thread-safe function that the
// watcher's thread calls once. Holding the function keeps the event loop alive meanwhile.
struct PendingWait {
  Napi::Promise::Deferred deferred;
  SettleFunction tsfn;
  AddonData* data;
  std::optional<KernelError> error;
};

void settle(Napi::Env env, Napi::Function, std::nullptr_t*, PendingWait* wait) {
  std::unique_ptr<PendingWait> owned(wait);
  // No environment: the function is being torn down with this call still queued (its
  // worker_thread ended); there is no promise left to settle, only the wait to free.
  if (env == nullptr) return;
  if (wait->error) wait->deferred.Reject(makeNetlinkError(env, wait->data, *wait->error, 0));
  else wait->deferred.Resolve(env.Undefined());
}

}  // namespace

Napi::Value WaitLinksGone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* data = env.GetInstanceData<AddonData>();
  if (!info[0].IsArray() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "waitLinksGone(names, timeoutMs): names must be an array, timeoutMs a number");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<std::string> names;
  for (uint32_t i = 0; i < list.Length(); i++) {
    if (!list.Get(i).IsString()) throw Napi::TypeError::New(env, "waitLinksGone: names[" + std::to_string(i) + "] must be a string");
    names.push_back(list.Get(i).As<Napi::String>().Utf8Value());
  }
  double timeout = info[1].As<Napi::Number>().DoubleValue();
  if (!(timeout >= 0 && timeout <= 86400000)) throw Napi::TypeError::New(env, "waitLinksGone: timeoutMs must be 0 to 86400000");
  auto* wait = new PendingWait{Napi::Promise::Deferred::New(env), {}, data, std::nullopt};
  Napi::Promise promise = wait->deferred.Promise();
  try {
    for (const std::string& name : names) checkIfname(name, "RTM_GETLINK");
    if (names.empty()) {
      wait->deferred.Resolve(env.Undefined());
      delete wait;
      return promise;
    }
    if (!data->linkWatcher) data->linkWatcher = std::make_unique<LinkWatcher>();
  } catch (KernelError& e) {
    wait->deferred.Reject(makeNetlinkError(env, data, e, 0));
    delete wait;
    return promise;
  }
  wait->tsfn = SettleFunction::New(env, "cnm:waitLinksGone", 0, 1);
  data->linkWatcher->wait(std::move(names), std::chrono::milliseconds(static_cast<int64_t>(timeout)),
                          [wait](std::optional<KernelError> error) {
                            wait->error = std::move(error);
                            SettleFunction tsfn = wait->tsfn;
                            // If the environment is going away the call is refused and the promise is never settled.
                            if (tsfn.BlockingCall(wait) != napi_ok) delete wait;
                            tsfn.Release();
                          });
  return promise;
}

}  // namespace cnm
