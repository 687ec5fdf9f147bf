// The addon's entry point: `execute(ops)` runs a batch off the JS thread and returns a Promise;
// `setErrorFactory(fn)` hands over the JS function that builds NetlinkError objects;
// `errnoNames()` lists the C library's name and message of every errno it knows.
#include <napi.h>

#include "convert.h"

namespace cnm {

namespace {

struct AddonData {
  Napi::FunctionReference errorFactory;
};

class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, std::vector<Op> ops, AddonData* data)
      : Napi::AsyncWorker(env, "cnm:batch"), deferred_(Napi::Promise::Deferred::New(env)),
        ops_(std::move(ops)), data_(data) {}

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
  Napi::Value makeError(Napi::Env env, const BatchError& f) {
    Napi::Object info = Napi::Object::New(env);
    info.Set("errno", -f.error.err);
    info.Set("syscall", f.error.syscall);
    info.Set("object", f.error.object);
    info.Set("extack", f.error.extack);
    info.Set("index", static_cast<double>(f.index));
    if (f.error.command >= 0) info.Set("command", static_cast<double>(f.error.command));
    if (data_->errorFactory.IsEmpty()) {
      return Napi::Error::New(env, f.error.syscall + " " + f.error.object + ": errno " + std::to_string(f.error.err)).Value();
    }
    return data_->errorFactory.Call({info});
  }

  Napi::Promise::Deferred deferred_;
  std::vector<Op> ops_;
  std::vector<OpResult> results_;
  std::optional<BatchError> failure_;
  AddonData* data_;
};

Napi::Value Execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "execute(ops): ops must be an array");
  auto* worker = new BatchWorker(env, opsFromJs(info[0].As<Napi::Array>()), static_cast<AddonData*>(info.Data()));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorFactory(fn): fn must be a function");
  static_cast<AddonData*>(info.Data())->errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
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

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Per-environment data travels as callback data, so each worker_thread / env has its own.
  auto* data = new AddonData();
  env.AddCleanupHook([data] { delete data; });
  exports.Set("execute", Napi::Function::New(env, Execute, "execute", data));
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory", data));
  exports.Set("errnoNames", Napi::Function::New(env, ErrnoNames, "errnoNames"));
  return exports;
}

}  // namespace cnm

static Napi::Object InitCnm(Napi::Env env, Napi::Object exports) { return cnm::Init(env, exports); }

NODE_API_MODULE(cnm, InitCnm)
