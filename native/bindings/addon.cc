// The addon's entry point: `execute(ops)` runs a batch off the JS thread and returns a Promise;
// `waitLinksGone(names, timeoutMs)` resolves once host links are gone (linkwait.cc);
// `setErrorFactory(fn)` hands over the JS function that builds NetlinkError objects;
// `errnoNames()` lists the C library's name and message of every errno it knows;
// `dropKeptSockets()` closes the sockets kept for new namespaces;
// `effectiveCapabilities()` gives the thread's effective capability set as a bit mask (a BigInt).
#include <linux/capability.h>
#include <napi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addon-data.h"
#include "../kernel/kept-sockets.h"
#include "convert.h"
#include "dns.h"
#include "linkwait.h"

// Completing a batch or a link wait for an environment that is going away (a worker_thread
// terminated with calls in flight) makes every napi call that could run JS fail with
// napi_pending_exception and no exception pending; node-addon-api turns that into a C++
// Napi::Error, catches it around OnOK / the thread-safe call and tries to throw it into JS, which
// fails the same way, so it throws again from inside its own handler and the process aborts.
// Handling it ourselves would mean telling "the environment is terminating" apart from a real
// failure after each napi call of every completion path; node-addon-api makes exactly that test
// in one place (napi_throw refused while no exception is pending) when this macro is defined, and
// drops only that case: any other failure still aborts. Nothing is lost by dropping it: the
// promise it would settle belongs to JS that no longer runs. binding.gyp and CMakeLists.txt
// define it; a build without it must not compile.
#ifndef NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#error "build with NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (see the comment above)"
#endif

namespace cnm {

namespace {

// What a failed op rejects with when there is no factory, or when the factory itself threw (its
// exception becomes the `cause`): an Error that still says which op failed and why, so that the
// promise settles whatever the factory does.
Napi::Value plainError(Napi::Env env, const KernelError& error, size_t index, const char* why) {
  std::string message =
      error.syscall + " " + error.object + ": errno " + std::to_string(error.err) + " (op " + std::to_string(index) + ")" + why;
  return Napi::Error::New(env, message).Value();
}

}  // namespace

Napi::Value makeNetlinkError(Napi::Env env, AddonData* data, const KernelError& error, size_t index) {
  if (data->errorFactory.IsEmpty()) return plainError(env, error, index, "");
  Napi::Object info = Napi::Object::New(env);
  info.Set("errno", -error.err);
  info.Set("syscall", error.syscall);
  info.Set("object", error.object);
  info.Set("extack", error.extack);
  info.Set("index", static_cast<double>(index));
  if (error.command >= 0) info.Set("command", static_cast<double>(error.command));
  try {
    return data->errorFactory.Call({info});
  } catch (const Napi::Error& thrown) {
    // Function::Call took the factory's exception off the environment into `thrown`.
    Napi::Value fallback = plainError(env, error, index, "; the error factory threw (see cause)");
    fallback.As<Napi::Object>().Set("cause", thrown.Value());
    return fallback;
  }
}

namespace {

class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, std::vector<Op> ops, AddonData* data)
      : Napi::AsyncWorker(env, "cnm:batch"), deferred_(Napi::Promise::Deferred::New(env)), ops_(std::move(ops)), data_(data) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      results_ = Batch().execute(ops_);
    } catch (BatchError& e) {
      failure_ = std::move(e);
    } catch (std::exception& e) {
      failure_ = BatchError{0, KernelError(EIO, "addon", e.what())};
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_) {
      deferred_.Reject(makeError(env, *failure_));
      return;
    }
    Napi::Array out = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) out.Set(i, resultToJs(env, results_[i]));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  // Built on the JS thread by the factory lib/native passed in, so the error is a NetlinkError.
  Napi::Value makeError(Napi::Env env, const BatchError& f) { return makeNetlinkError(env, data_, f.error, f.index); }

  Napi::Promise::Deferred deferred_;
  std::vector<Op> ops_;
  std::vector<OpResult> results_;
  std::optional<BatchError> failure_;
  AddonData* data_;
};

Napi::Value Execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "execute(ops): ops must be an array");
  auto* worker = new BatchWorker(env, opsFromJs(info[0].As<Napi::Array>()), env.GetInstanceData<AddonData>());
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// Closes the netlink sockets kept for new namespaces (kept-sockets.h), so that none pins a
// namespace that someone else deletes while no batch runs.
Napi::Value DropKeptSockets(const Napi::CallbackInfo& info) {
  keptSockets().dropAll();
  return info.Env().Undefined();
}

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorFactory(fn): fn must be a function");
  info.Env().GetInstanceData<AddonData>()->errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value ErrnoNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<ErrnoName> names = errnoNames();
  Napi::Array out = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); i++) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("errno", names[i].err);
    entry.Set("code", names[i].name);
    entry.Set("description", names[i].description);
    out.Set(i, entry);
  }
  return out;
}

// capget(2) rather than /proc/self/status: Deno refuses to read /proc/self without --allow-all, and
// the privilege check must work under its narrower permissions.
Napi::Value EffectiveCapabilities(const Napi::CallbackInfo& info) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    throw Napi::Error::New(info.Env(), std::string("capget: ") + std::strerror(errno));
  }
  uint64_t mask = (static_cast<uint64_t>(data[1].effective) << 32) | data[0].effective;
  return Napi::BigInt::New(info.Env(), mask);
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Each environment (the main thread, each worker_thread, each load) has its own AddonData as
  // Node-API instance data, deleted by Node-API when the environment is torn down.
  auto* data = new AddonData();
  env.SetInstanceData(data);
  // The link watcher's thread settles waits through thread-safe functions that Node-API deletes
  // once their handles close, after the cleanup hooks; stopping the thread in a cleanup hook (this
  // one runs after those of the functions, which were made later) ends it while they still exist.
  env.AddCleanupHook([data] { data->linkWatcher.reset(); });
  exports.Set("execute", Napi::Function::New(env, Execute, "execute"));
  exports.Set("waitLinksGone", Napi::Function::New(env, WaitLinksGone, "waitLinksGone"));
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
  exports.Set("errnoNames", Napi::Function::New(env, ErrnoNames, "errnoNames"));
  exports.Set("dropKeptSockets", Napi::Function::New(env, DropKeptSockets, "dropKeptSockets"));
  exports.Set("dnsStart", Napi::Function::New(env, DnsStart, "dnsStart"));
  exports.Set("dnsStop", Napi::Function::New(env, DnsStop, "dnsStop"));
  exports.Set("dnsAttach", Napi::Function::New(env, DnsAttach, "dnsAttach"));
  exports.Set("dnsDetach", Napi::Function::New(env, DnsDetach, "dnsDetach"));
  exports.Set("dnsSend", Napi::Function::New(env, DnsSend, "dnsSend"));
  exports.Set("dnsForget", Napi::Function::New(env, DnsForget, "dnsForget"));
  exports.Set("effectiveCapabilities", Napi::Function::New(env, EffectiveCapabilities, "effectiveCapabilities"));
  return exports;
}

}  // namespace cnm

static Napi::Object InitCnm(Napi::Env env, Napi::Object exports) { return cnm::Init(env, exports); }

NODE_API_MODULE(cnm, InitCnm)
