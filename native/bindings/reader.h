// Reading JS objects on the JS thread with strict checks: each failure is a TypeError that names
// the field ("ops[2].link.name must be a string").
#pragma once

#include <napi.h>
#include <sys/socket.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cnm {

class Reader {
 public:
  Reader(const Napi::Object& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  bool has(const char* key) const {
    Napi::Value v = obj_.Get(key);
    return !v.IsUndefined() && !v.IsNull();
  }
  bool isNull(const char* key) const { return obj_.Get(key).IsNull(); }
  std::string string(const char* key, bool required = false) const {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined() || v.IsNull()) {
      if (required) fail(key, "is required");
      return "";
    }
    if (!v.IsString()) fail(key, "must be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  std::optional<uint32_t> u32(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined() || v.IsNull()) return std::nullopt;
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    // Written so that NaN fails the range test: converting NaN or an out-of-range double to
    // uint32_t is undefined behaviour, so the conversion comes only after it.
    if (!(d >= 0 && d <= 4294967295.0) || d != std::floor(d)) {
      fail(key, "must be an integer from 0 to 4294967295");
    }
    return static_cast<uint32_t>(d);
  }
  std::optional<bool> boolean(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined() || v.IsNull()) return std::nullopt;
    if (!v.IsBoolean()) fail(key, "must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  Reader object(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsObject()) fail(key, "must be an object");
    return Reader(v.As<Napi::Object>(), where_ + "." + key);
  }
  int family(const char* key) const {
    std::optional<uint32_t> f = u32(key);
    if (!f || *f == 0) return AF_UNSPEC;
    if (*f == 4) return AF_INET;
    if (*f == 6) return AF_INET6;
    fail(key, "must be 4 or 6");
  }
  std::vector<std::pair<std::string, std::string>> stringMap(const char* key) const {
    std::vector<std::pair<std::string, std::string>> out;
    if (!has(key)) return out;
    Napi::Object m = object(key).obj_;
    Napi::Array names = m.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      std::string name = names.Get(i).ToString().Utf8Value();
      Napi::Value v = m.Get(name);
      if (!v.IsString()) fail(key, "values must be strings");
      out.emplace_back(name, v.As<Napi::String>().Utf8Value());
    }
    return out;
  }
  Napi::Value value(const char* key) const { return obj_.Get(key); }
  std::vector<std::string> strings(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsArray()) fail(key, "must be an array of strings");
    Napi::Array a = v.As<Napi::Array>();
    std::vector<std::string> out;
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value item = a.Get(i);
      if (!item.IsString()) fail(key, "must be an array of strings");
      out.push_back(item.As<Napi::String>().Utf8Value());
    }
    return out;
  }
  // An integer from `min` to `max`, or nothing if absent.
  std::optional<int64_t> integer(const char* key, int64_t min, int64_t max) const {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined() || v.IsNull()) return std::nullopt;
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::floor(d)) {
      fail(key, ("must be an integer from " + std::to_string(min) + " to " + std::to_string(max)).c_str());
    }
    return static_cast<int64_t>(d);
  }
  // Bytes: a Buffer / Uint8Array, or a string of hex digits ("0a000001").
  std::vector<uint8_t> bytes(const char* key) const { return bytesFrom(obj_.Get(key), key); }
  std::vector<uint8_t> bytesFrom(const Napi::Value& v, const char* key) const {
    if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
      Napi::Uint8Array a = v.As<Napi::Uint8Array>();
      return std::vector<uint8_t>(a.Data(), a.Data() + a.ByteLength());
    }
    std::string hex = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    bool ok = v.IsString() && hex.size() % 2 == 0 && hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    if (!ok) fail(key, "must be a Buffer, a Uint8Array or an even number of hex digits");
    std::vector<uint8_t> out;
    for (size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
  }
  // An array; `required` fails on absence, otherwise absence is an empty array.
  Napi::Array array(const char* key, bool required = true) const {
    Napi::Value v = obj_.Get(key);
    if ((v.IsUndefined() || v.IsNull()) && !required) return Napi::Array::New(obj_.Env());
    if (!v.IsArray()) fail(key, "must be an array");
    return v.As<Napi::Array>();
  }
  // The object at `index` of the array `key`, as a Reader named "where.key[index]".
  Reader item(const Napi::Array& array, const char* key, uint32_t index) const {
    Napi::Value v = array.Get(index);
    std::string name = std::string(key) + "[" + std::to_string(index) + "]";
    if (!v.IsObject()) fail(name.c_str(), "must be an object");
    return Reader(v.As<Napi::Object>(), where_ + "." + name);
  }
  // One of the names in `choices` (a map from name to value).
  template <class Map>
  typename Map::mapped_type choice(const char* key, const Map& choices, bool required = true) const {
    std::string name = string(key, required);
    auto it = choices.find(name);
    if (it == choices.end()) {
      std::string list;
      for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c.first;
      fail(key, ("must be one of " + list).c_str());
    }
    return it->second;
  }
  [[noreturn]] void fail(const char* key, const char* what) const {
    throw Napi::TypeError::New(obj_.Env(), where_ + "." + key + " " + what);
  }

 private:
  Napi::Object obj_;
  std::string where_;
};

}  // namespace cnm
