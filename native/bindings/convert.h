// Conversions between JS values and the kernel layer's plain structs. JS thread only.
#pragma once

#include <napi.h>

#include <vector>

#include "../kernel/batch.h"

namespace cnm {

// Reads an array of op objects ({ op: 'linkAdd', netns?, ... }). Throws a TypeError naming the
// op and field on malformed input.
std::vector<Op> opsFromJs(const Napi::Array& array);

Napi::Value resultToJs(Napi::Env env, const OpResult& result);

}  // namespace cnm
