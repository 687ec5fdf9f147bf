#include "dns.h"

#include <string>
#include <vector>

#include "addon-data.h"

namespace cnm {

// Runs on the JS thread once per notification: everything received since goes out in one call.
void receive(Napi::Env env, Napi::Function callback, AddonData* data, std::nullptr_t*) {
  if (env == nullptr || !data->dnsPump) return;
  std::vector<DnsMessage> messages = data->dnsPump->take();
  if (messages.empty()) return;
  Napi::Array out = Napi::Array::New(env, messages.size());
  for (size_t i = 0; i < messages.size(); i++) {
    DnsMessage& m = messages[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", m.id);
    o.Set("channel", static_cast<uint32_t>(m.channel));
    o.Set("conn", m.conn);
    o.Set("peer", Napi::Buffer<uint8_t>::Copy(env, m.peer.data(), m.peer.size()));
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, m.data.data(), m.data.size()));
    out.Set(i, o);
  }
  callback.Call({out});
}

namespace {

AddonData* running(const Napi::CallbackInfo& info, const char* name) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  if (!data->dnsPump) throw Napi::Error::New(info.Env(), std::string(name) + ": the DNS pump is not started");
  return data;
}

uint32_t u32Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().Uint32Value();
}

int fdArg(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNull() || info[i].IsUndefined()) return -1;
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "dnsAttach: descriptors must be numbers or null");
  int fd = info[i].As<Napi::Number>().Int32Value();
  if (fd < 3) throw Napi::TypeError::New(info.Env(), "dnsAttach: a descriptor must come from the dnsSockets op");
  return fd;
}

std::vector<uint8_t> bytes(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsBuffer()) return {};
  auto b = v.As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(b.Data(), b.Data() + b.Length());
}

}  // namespace

void stopDns(void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  if (!data->dnsPump) return;
  data->dnsPump.reset();  // joins the thread: nothing calls the function after this
  data->dnsReceiver.Release();
}

Napi::Value DnsStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* data = env.GetInstanceData<AddonData>();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "dnsStart(receive): receive must be a function");
  if (data->dnsPump) throw Napi::Error::New(env, "dnsStart: the DNS pump is already started");
  data->dnsReceiver = DnsReceiver::New(env, info[0].As<Napi::Function>(), "cnm:dns", 0, 1, data);
  // A library must not keep the process alive by listening.
  data->dnsReceiver.Unref(env);
  DnsReceiver receiver = data->dnsReceiver;
  try {
    data->dnsPump = std::make_unique<DnsPump>([receiver]() mutable { receiver.NonBlockingCall(); });
  } catch (KernelError& e) {
    data->dnsReceiver.Release();
    throw Napi::Error::New(env, std::string("dnsStart: ") + e.what());
  }
  // Added after the function's own hook, so it runs before it (hooks run last-added first).
  napi_add_env_cleanup_hook(env, stopDns, data);
  return env.Undefined();
}

Napi::Value DnsStop(const Napi::CallbackInfo& info) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  if (!data->dnsPump) return info.Env().Undefined();
  napi_remove_env_cleanup_hook(info.Env(), stopDns, data);
  stopDns(data);
  return info.Env().Undefined();
}

Napi::Value DnsAttach(const Napi::CallbackInfo& info) {
  AddonData* data = running(info, "dnsAttach");
  uint32_t id = u32Arg(info, 0, "dnsAttach: id");
  DnsFds fds{fdArg(info, 1), fdArg(info, 2), fdArg(info, 3)};
  data->dnsPump->attach(id, fds);
  return info.Env().Undefined();
}

Napi::Value DnsDetach(const Napi::CallbackInfo& info) {
  AddonData* data = running(info, "dnsDetach");
  data->dnsPump->detach(u32Arg(info, 0, "dnsDetach: id"));
  return info.Env().Undefined();
}

Napi::Value DnsForget(const Napi::CallbackInfo& info) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  if (data->dnsPump) data->dnsPump->forget();  // a stopped pump keeps no reply
  return info.Env().Undefined();
}

Napi::Value DnsSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = running(info, "dnsSend");
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "dnsSend(messages): messages must be an array");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<DnsMessage> messages(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "dnsSend: messages[" + std::to_string(i) + "] must be an object");
    Napi::Object o = v.As<Napi::Object>();
    DnsMessage& m = messages[i];
    m.id = o.Get("id").ToNumber().Uint32Value();
    uint32_t channel = o.Get("channel").ToNumber().Uint32Value();
    if (channel > static_cast<uint32_t>(DnsChannel::HostForwardTcp)) throw Napi::TypeError::New(env, "dnsSend: channel must be 0 to 5");
    m.channel = static_cast<DnsChannel>(channel);
    m.conn = o.Get("conn").ToNumber().Uint32Value();
    m.peer = bytes(o, "peer");
    m.data = bytes(o, "data");
    m.query = bytes(o, "query");
  }
  data->dnsPump->send(std::move(messages));
  return env.Undefined();
}

}  // namespace cnm
