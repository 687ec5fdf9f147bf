// Errors raised by the kernel layer. Plain C++: the bindings layer turns them into JS errors
// on the JS thread.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace cnm {

// A failed system call or netlink request. `err` is a positive errno value; `syscall` names the
// call or netlink message ("RTM_NEWLINK", "setns", "mount"); `object` names what it acted on.
struct KernelError : std::runtime_error {
  int err;
  std::string syscall;
  std::string object;
  std::string extack;  // the kernel's extended-ack message, when it sent one
  long command = -1;   // the failed command of a multi-command op (an nf_tables transaction), or -1

  KernelError(int err, std::string syscall, std::string object, std::string extack = "")
      : std::runtime_error(syscall + " " + object),
        err(err),
        syscall(std::move(syscall)),
        object(std::move(object)),
        extack(std::move(extack)) {}
};

// Throws a KernelError for the current errno.
[[noreturn]] void throwErrno(const std::string& syscall, const std::string& object);

// An errno's symbolic name ("EXFULL") and the C library's message for it ("Exchange full").
struct ErrnoName {
  int err;
  std::string name;
  std::string description;
};

// Every errno from 1 to 4095 that the C library has a name for (Node's own table lacks many).
std::vector<ErrnoName> errnoNames();

}  // namespace cnm
