// nf_tables and conntrack ops between JS and the kernel layer's structs. JS thread only.
#pragma once

#include <napi.h>

#include "../kernel/batch.h"
#include "reader.h"

namespace cnm {

// Whether `kind` is one of the nf_tables / conntrack ops this file reads.
bool isNetfilterOp(OpKind kind);

// Reads the fields of an nf_tables or conntrack op into `op` (op.kind is set already). Throws a
// TypeError naming the field on malformed input.
void netfilterOpFrom(const Reader& r, Op& op);

// The read-back results as JS values.
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftTableInfo>& v);
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftChainInfo>& v);
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftRuleInfo>& v);
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftSetInfo>& v);
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftElementInfo>& v);

}  // namespace cnm
