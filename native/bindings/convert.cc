#include "convert.h"

#include <sys/socket.h>

#include <map>
#include <string_view>
#include <variant>

#include "nftconvert.h"
#include "reader.h"

namespace cnm {

namespace {

LinkSpec linkSpecFrom(const Reader& r) {
  LinkSpec s;
  s.kind = r.string("kind", true);
  s.name = r.string("name", true);
  s.mtu = r.u32("mtu");
  s.mac = r.string("mac");
  s.up = r.boolean("up").value_or(false);
  s.master = r.string("master");
  s.netns = r.string("netns");
  s.linkGroup = r.u32("linkGroup");
  s.ipv6 = r.boolean("ipv6").value_or(false);
  if (s.kind == "veth") {
    Reader p = r.object("peer");
    s.peer = VethPeerSpec{p.string("name", true), p.string("netns"), p.u32("mtu"), p.string("mac"), p.boolean("ipv6").value_or(false)};
  }
  // Only the fields of the link's kind are read: each property read costs on the JS thread.
  if (s.kind == "macvlan" || s.kind == "vxlan") s.parent = r.string("parent");
  if (s.kind == "macvlan") s.macvlanMode = r.string("mode");
  if (s.kind != "vxlan") return s;
  s.vni = r.u32("vni");
  if (std::optional<uint32_t> port = r.u32("port")) {
    if (*port > 65535) r.fail("port", "must be at most 65535");
    s.dstPort = static_cast<uint16_t>(*port);
  }
  s.group = r.string("group");
  s.remote = r.string("remote");
  s.local = r.string("local");
  s.learning = r.boolean("learning");
  return s;
}

LinkChange linkChangeFrom(const Reader& r) {
  LinkChange c;
  c.up = r.boolean("up");
  c.mtu = r.u32("mtu");
  c.mac = r.string("mac");
  c.newName = r.string("newName");
  // null releases the link from its master (nomaster): an empty name on the C++ side.
  if (r.isNull("master")) c.master = "";
  else if (r.has("master")) c.master = r.string("master");
  c.netns = r.string("moveTo");
  c.addrGenMode = r.string("addrGenMode");
  if (r.has("alias")) c.alias = r.string("alias");
  c.group = r.u32("group");
  c.hairpin = r.boolean("hairpin");
  return c;
}

RouteSpec routeSpecFrom(const Reader& r) {
  RouteSpec s;
  s.destination = r.string("destination", true);
  s.family = r.family("family");
  s.gateway = r.string("gateway");
  s.dev = r.string("dev");
  s.metric = r.u32("metric");
  s.table = r.u32("table");
  if (r.has("scope")) s.scope = r.string("scope");
  return s;
}

// The fields of each op, one overload per op (the netfilter ones are in nftconvert.cc).
// udpPort and tcpPort, each absent or 0 for a port the kernel picks.
ResolverPorts resolverPortsFrom(const Reader& r) {
  ResolverPorts ports;
  ports.udp = static_cast<uint16_t>(r.integer("udpPort", 0, 65535).value_or(0));
  ports.tcp = static_cast<uint16_t>(r.integer("tcpPort", 0, 65535).value_or(0));
  return ports;
}

void fieldsFrom(const Reader& r, op::NetnsCreate& o) {
  o.dir = r.string("dir", true);
  o.fileName = r.string("name", true);
  o.sysctls = r.stringMap("sysctls");
  if (r.has("resolverSockets")) o.resolverSockets = resolverPortsFrom(r.object("resolverSockets"));
}
void fieldsFrom(const Reader& r, op::NetnsDelete& o) { o.path = r.string("path", true); }
void fieldsFrom(const Reader& r, op::NetnsInfo& o) { o.path = r.string("path", true); }

void fieldsFrom(const Reader& r, op::LinkAdd& o) { o.link = linkSpecFrom(r.object("link")); }
void fieldsFrom(const Reader& r, op::LinkDelete& o) { o.ifname = r.string("name", true); }
void fieldsFrom(const Reader& r, op::LinkDeleteGroup& o) {
  o.ifnames = r.strings("names");
  o.group = r.u32("group");
}
void fieldsFrom(const Reader& r, op::LinkSet& o) {
  o.ifname = r.string("name", true);
  o.change = linkChangeFrom(r.object("change"));
}
void fieldsFrom(const Reader& r, op::LinkGet& o) { o.ifname = r.string("name", true); }
void fieldsFrom(const Reader&, op::LinkList&) {}

void fieldsFrom(const Reader& r, op::AddressAdd& o) {
  o.ifname = r.string("name", true);
  o.cidr = r.string("address", true);
  o.nodad = r.boolean("nodad").value_or(false);
}
void fieldsFrom(const Reader& r, op::AddressDelete& o) {
  o.ifname = r.string("name", true);
  o.cidr = r.string("address", true);
}
void fieldsFrom(const Reader& r, op::AddressList& o) {
  o.ifname = r.string("name");
  o.family = r.family("family");
}

void fieldsFrom(const Reader& r, op::RouteAdd& o) { o.route = routeSpecFrom(r.object("route")); }
void fieldsFrom(const Reader& r, op::RouteReplace& o) { o.route = routeSpecFrom(r.object("route")); }
void fieldsFrom(const Reader& r, op::RouteDelete& o) { o.route = routeSpecFrom(r.object("route")); }
void fieldsFrom(const Reader& r, op::RouteList& o) {
  o.family = r.family("family");
  o.table = r.u32("table");
}

void fieldsFrom(const Reader& r, op::SysctlGet& o) { o.key = r.string("key", true); }
void fieldsFrom(const Reader& r, op::SysctlSet& o) {
  o.key = r.string("key", true);
  o.value = r.string("value", true);
}

void fieldsFrom(const Reader& r, op::LockFile& o) {
  o.path = r.string("path", true);
  o.owner = r.string("owner", true);
}
// A descriptor that lockFile or portReserve handed out (0, 1 and 2 never are).
int descriptorFrom(const Reader& r) {
  int fd = static_cast<int>(r.u32("fd").value_or(0));
  if (fd < 3) r.fail("fd", "must be a descriptor lockFile or portReserve returned");
  return fd;
}
void fieldsFrom(const Reader& r, op::UnlockFile& o) { o.fd = descriptorFrom(r); }
void fieldsFrom(const Reader& r, op::PortReserve& o) {
  o.address = r.string("address", true);
  o.protocol = r.string("protocol", true);
  uint32_t port = r.u32("port").value_or(0), end = r.u32("portEnd").value_or(port);
  if (port > 65535 || end > 65535 || end < port) r.fail("port", "and portEnd must be ports, portEnd not below port");
  o.port = static_cast<uint16_t>(port);
  o.portEnd = static_cast<uint16_t>(end);
}
void fieldsFrom(const Reader& r, op::PortRelease& o) { o.fd = descriptorFrom(r); }
void fieldsFrom(const Reader& r, op::DnsSockets& o) {
  o.ports = resolverPortsFrom(r);
  o.redirectTable = r.string("redirectTable");
}

void fieldsFrom(const Reader& r, op::RemovePaths& o) {
  o.base = r.string("base", true);
  o.paths = r.strings("paths");
  o.durable = r.boolean("durable").value_or(false);
}
void fieldsFrom(const Reader& r, op::WriteFiles& o) {
  o.base = r.string("base", true);
  Napi::Value files = r.value("files");
  if (!files.IsArray()) r.fail("files", "must be an array of { path, content }");
  Napi::Array list = files.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) {
    if (!list.Get(i).IsObject()) r.fail("files", "must be an array of { path, content }");
    Reader file(list.Get(i).As<Napi::Object>(), "files[" + std::to_string(i) + "]");
    o.files.push_back({file.string("path", true), file.string("content", true), file.u32("mode").value_or(0644)});
  }
  o.mode = r.boolean("durable").value_or(false)  ? WriteMode::Durable
           : r.boolean("atomic").value_or(false) ? WriteMode::Atomic
                                                 : WriteMode::InPlace;
}
void fieldsFrom(const Reader& r, op::ListFolder& o) {
  o.base = r.string("base", true);
  o.path = r.string("path");
}
void fieldsFrom(const Reader& r, op::ReadFiles& o) {
  o.base = r.string("base", true);
  o.paths = r.strings("paths");
}

using ReadOp = OpBody (*)(const Reader&);

template <class T>
OpBody readOp(const Reader& r) {
  T op;
  fieldsFrom(r, op);
  return op;
}

// The reader of every op by its JS name, generated from OpBody's list of ops.
template <class... Ops>
std::map<std::string_view, ReadOp> readersOf(const std::variant<Ops...>*) {
  return {{Ops::name, &readOp<Ops>}...};
}

const std::map<std::string_view, ReadOp>& readers() {
  static const std::map<std::string_view, ReadOp> table = readersOf(static_cast<const OpBody*>(nullptr));
  return table;
}

Op opFrom(const Reader& r) {
  std::string name = r.string("op", true);
  auto reader = readers().find(name);
  if (reader == readers().end()) r.fail("op", "is not a known operation");
  Op op;
  op.netns = r.string("netns");
  op.body = reader->second(r);
  return op;
}

int familyNumber(int family) { return family == AF_INET ? 4 : family == AF_INET6 ? 6 : 0; }

Napi::Object linkToJs(Napi::Env env, const LinkInfo& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", l.index);
  o.Set("name", l.name);
  o.Set("kind", l.kind.empty() ? env.Null() : Napi::String::New(env, l.kind));
  o.Set("flags", l.flags);
  o.Set("up", Napi::Boolean::New(env, l.flags & 1 /* IFF_UP */));
  o.Set("mtu", l.mtu);
  o.Set("mac", l.mac);
  o.Set("master", l.master.empty() ? env.Null() : Napi::String::New(env, l.master));
  o.Set("masterIndex", l.masterIndex);
  o.Set("parentIndex", l.parentIndex);
  o.Set("operstate", l.operstate);
  o.Set("alias", l.alias.empty() ? env.Null() : Napi::String::New(env, l.alias));
  o.Set("group", l.group);
  Napi::Object s = Napi::Object::New(env);
  s.Set("rxPackets", static_cast<double>(l.stats.rxPackets));
  s.Set("txPackets", static_cast<double>(l.stats.txPackets));
  s.Set("rxBytes", static_cast<double>(l.stats.rxBytes));
  s.Set("txBytes", static_cast<double>(l.stats.txBytes));
  s.Set("rxErrors", static_cast<double>(l.stats.rxErrors));
  s.Set("txErrors", static_cast<double>(l.stats.txErrors));
  s.Set("rxDropped", static_cast<double>(l.stats.rxDropped));
  s.Set("txDropped", static_cast<double>(l.stats.txDropped));
  o.Set("stats", s);
  return o;
}

Napi::Object addressToJs(Napi::Env env, const AddressInfo& a) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ifname", a.ifname);
  o.Set("index", a.index);
  o.Set("family", familyNumber(a.family));
  o.Set("address", a.address);
  o.Set("prefixLength", a.prefixLength);
  o.Set("scope", a.scope);
  return o;
}

Napi::Object routeToJs(Napi::Env env, const RouteInfo& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", familyNumber(r.family));
  o.Set("destination", r.destination);
  o.Set("gateway", r.gateway.empty() ? env.Null() : Napi::String::New(env, r.gateway));
  o.Set("dev", r.dev.empty() ? env.Null() : Napi::String::New(env, r.dev));
  o.Set("metric", r.metric);
  o.Set("table", r.table);
  o.Set("scope", r.scope);
  o.Set("protocol", r.protocol);
  o.Set("type", r.type);
  return o;
}

template <class T, class F>
Napi::Array arrayToJs(Napi::Env env, const std::vector<T>& items, F convert) {
  Napi::Array a = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); i++) a.Set(i, convert(env, items[i]));
  return a;
}

}  // namespace

std::vector<Op> opsFromJs(const Napi::Array& array) {
  std::vector<Op> ops;
  ops.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value v = array.Get(i);
    std::string where = "ops[" + std::to_string(i) + "]";
    if (!v.IsObject()) throw Napi::TypeError::New(array.Env(), where + " must be an object");
    ops.push_back(opFrom(Reader(v.As<Napi::Object>(), where)));
  }
  return ops;
}

Napi::Value resultToJs(Napi::Env env, const OpResult& result) {
  struct Visitor {
    Napi::Env env;
    Napi::Value operator()(std::monostate) const { return env.Undefined(); }
    Napi::Value operator()(const std::string& s) const { return Napi::String::New(env, s); }
    Napi::Value operator()(const std::vector<std::string>& v) const {
      return arrayToJs(env, v, [](Napi::Env e, const std::string& s) { return Napi::String::New(e, s); });
    }
    Napi::Value operator()(const NetnsInfo& n) const {
      Napi::Object o = Napi::Object::New(env);
      o.Set("isNetns", n.isNetns);
      o.Set("isHost", n.isHost);
      o.Set("inode", static_cast<double>(n.inode));
      o.Set("dev", static_cast<double>(n.dev));
      return o;
    }
    Napi::Value operator()(const LinkInfo& l) const { return linkToJs(env, l); }
    Napi::Value operator()(const std::vector<LinkInfo>& v) const { return arrayToJs(env, v, linkToJs); }
    Napi::Value operator()(const std::vector<AddressInfo>& v) const { return arrayToJs(env, v, addressToJs); }
    Napi::Value operator()(const std::vector<RouteInfo>& v) const { return arrayToJs(env, v, routeToJs); }
    Napi::Value operator()(uint32_t n) const { return Napi::Number::New(env, n); }
    // nf_tables read-back lists (nftconvert.cc).
    Napi::Value operator()(const std::vector<NftTableInfo>& v) const { return netfilterResultToJs(env, v); }
    Napi::Value operator()(const std::vector<NftChainInfo>& v) const { return netfilterResultToJs(env, v); }
    Napi::Value operator()(const std::vector<NftRuleInfo>& v) const { return netfilterResultToJs(env, v); }
    Napi::Value operator()(const std::vector<NftSetInfo>& v) const { return netfilterResultToJs(env, v); }
    Napi::Value operator()(const std::vector<NftElementInfo>& v) const { return netfilterResultToJs(env, v); }
    Napi::Value operator()(const PortReservation& p) const {
      Napi::Object o = Napi::Object::New(env);
      o.Set("fd", p.fd);
      o.Set("port", p.port);
      return o;
    }
    // readFiles: { content } or { error, errno } for each file.
    Napi::Value operator()(const std::vector<FileRead>& v) const {
      return arrayToJs(env, v, [](Napi::Env e, const FileRead& f) {
        Napi::Object o = Napi::Object::New(e);
        if (f.err == 0) o.Set("content", f.content);
        if (f.err != 0) o.Set("error", f.reason);
        if (f.err != 0) o.Set("errno", f.err);
        return o;
      });
    }
    Napi::Value operator()(const DnsSockets& d) const {
      Napi::Object o = Napi::Object::New(env);
      o.Set("udp", d.udp);
      o.Set("tcp", d.tcp);
      o.Set("netns", d.netns);
      o.Set("udpPort", d.udpPort);
      o.Set("tcpPort", d.tcpPort);
      return o;
    }
    Napi::Value operator()(const LockResult& l) const {
      Napi::Object o = Napi::Object::New(env);
      o.Set("fd", l.fd >= 0 ? Napi::Value(Napi::Number::New(env, l.fd)) : env.Null());
      o.Set("holder", l.holder);
      return o;
    }
  };
  return std::visit(Visitor{env}, result);
}

}  // namespace cnm
