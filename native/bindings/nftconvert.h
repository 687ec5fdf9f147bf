// nf_tables and conntrack ops between JS and the kernel layer's structs. JS thread only.
#pragma once

#include <napi.h>

#include "../kernel/batch.h"
#include "reader.h"

namespace cnm {

// The fields of the nf_tables and conntrack ops. Each throws a TypeError naming the field on
// malformed input.
void fieldsFrom(const Reader& r, op::NftTransaction& o);
void fieldsFrom(const Reader& r, op::NftListTables& o);
void fieldsFrom(const Reader& r, op::NftListChains& o);
void fieldsFrom(const Reader& r, op::NftListRules& o);
void fieldsFrom(const Reader& r, op::NftListSets& o);
void fieldsFrom(const Reader& r, op::NftListElements& o);
void fieldsFrom(const Reader& r, op::ConntrackDelete& o);

// The read-back results as JS values.
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftTableInfo>& v);
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftChainInfo>& v);
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftRuleInfo>& v);
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftSetInfo>& v);
Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftElementInfo>& v);

}  // namespace cnm
