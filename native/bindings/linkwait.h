// `waitLinksGone(names, timeoutMs)`: a Promise that resolves once the named host links are gone.
#pragma once

#include <napi.h>

namespace cnm {

// JS: waitLinksGone(names: string[], timeoutMs: number): Promise<void>. The callback data is the
// AddonData. Rejects with a NetlinkError (ETIMEDOUT naming the links left) on timeout.
Napi::Value WaitLinksGone(const Napi::CallbackInfo& info);

}  // namespace cnm
