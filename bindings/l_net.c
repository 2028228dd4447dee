/* Networking from Lua: named netns, and rtnetlink handles ("lunshare.Netlink") with one
 * method per request of core/netlink.c. */
#include <errno.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lcore.h"

#define NL_META "lunshare.Netlink"

struct l_nl {
	struct lsh_nl *nl;
};

/* A netns directory argument at idx: nil (/run/netns), a path, or a statedir handle (a
 * rootless topology's pins). Returns the handle's fd, or -1 with the path in *path. */
static int netns_dir(lua_State *L, int idx, const char **path)
{
	*path = NULL;
	if (lua_type(L, idx) == LUA_TUSERDATA)
		return lsh_l_checkfd(L, idx)->fd;
	*path = lsh_l_optstring(L, idx, NULL);
	return -1;
}

/* The fd in field `field` of the table at idx, now on the top of the stack: an error
 * names the argument and the field ({ fd = h } with h closed). */
static int field_fd(lua_State *L, int idx, const char *field)
{
	if (lua_isinteger(L, -1))
		return (int)lua_tointeger(L, -1);
	struct lsh_l_fd *h = luaL_testudata(L, -1, "lunshare.Fd");
	if (h == NULL)
		luaL_argerror(L, idx, lua_pushfstring(L, "%s: expected a handle or an fd", field));
	if (h->fd < 0)
		luaL_argerror(L, idx, lua_pushfstring(L, "%s: the handle is closed", field));
	return h->fd;
}

/* A namespace designator at idx: nil (here), { pid = N }, { pidfd = handle|int },
 * { fd = handle|int } or
 * { name = "NAME" [, dir = "/run/netns"] }. A name is opened into *tmp (closed by the
 * caller). Returns 0, or pushes a failure triple and returns 3. */
static int check_ns(lua_State *L, int idx, struct lsh_nl_ns *ns, int *tmp)
{
	static const char *const keys[] = { "pid", "fd", "pidfd", "name", "dir", NULL };
	*tmp = -1;
	ns->by = LSH_NL_NS_HERE;
	ns->value = 0;
	if (lua_isnoneornil(L, idx))
		return 0;
	luaL_checktype(L, idx, LUA_TTABLE);
	lsh_l_check_keys(L, idx, keys);
	if (lua_getfield(L, idx, "pid") != LUA_TNIL) {
		ns->by = LSH_NL_NS_PID;
		ns->value = (int)luaL_checkinteger(L, -1);
	} else if (lua_getfield(L, idx, "fd") != LUA_TNIL) {
		ns->by = LSH_NL_NS_FD;
		ns->value = field_fd(L, idx, "fd");
	} else if (lua_getfield(L, idx, "pidfd") != LUA_TNIL) {
		ns->by = LSH_NL_NS_PIDFD;
		ns->value = field_fd(L, idx, "pidfd");
	} else if (lua_getfield(L, idx, "name") != LUA_TNIL) {
		struct lsh_err *err = NULL;
		const char *dir;
		lua_getfield(L, idx, "dir");
		int dfd = netns_dir(L, lua_gettop(L), &dir);
		const char *name = lsh_l_checkstring(L, -2);
		int fd = dfd >= 0 ? lsh_netns_open_at(dfd, name, &err) : lsh_netns_open(dir, name, &err);
		if (fd < 0)
			return lsh_l_fail(L, err);
		*tmp = fd;
		ns->by = LSH_NL_NS_FD;
		ns->value = fd;
	} else {
		luaL_argerror(L, idx, "expected { pid = }, { pidfd = }, { fd = } or { name = }");
	}
	return 0;
}

static struct lsh_nl *check_nl(lua_State *L, int idx)
{
	struct l_nl *h = luaL_checkudata(L, idx, NL_META);
	if (h->nl == NULL)
		luaL_argerror(L, idx, "netlink handle is closed");
	return h->nl;
}

/* netlink([where]) -> handle | nil, msg, errno */
static int l_netlink(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct lsh_nl_ns ns;
	int tmp, r;
	lsh_l_check_nargs(L, 1);
	lua_settop(L, 1);
	struct l_nl *h = lua_newuserdatauv(L, sizeof *h, 0);
	int top = lua_gettop(L);
	h->nl = NULL;
	luaL_setmetatable(L, NL_META);
	if ((r = check_ns(L, 1, &ns, &tmp)) != 0)
		return r;
	r = lsh_nl_open(&h->nl, ns, &err);
	if (tmp >= 0)
		close(tmp);
	if (r < 0)
		return lsh_l_fail(L, err);
	lua_settop(L, top);
	return 1;
}

static int nl_close(lua_State *L)
{
	struct l_nl *h = luaL_checkudata(L, 1, NL_META);
	lsh_nl_close(h->nl);
	h->nl = NULL;
	return 0;
}

static int nl_tostring(lua_State *L)
{
	struct l_nl *h = luaL_checkudata(L, 1, NL_META);
	lua_pushstring(L, h->nl ? "netlink socket" : "netlink socket (closed)");
	return 1;
}

static const char *opt_field_str(lua_State *L, int idx, const char *k)
{
	lua_getfield(L, idx, k);
	const char *s = lsh_l_optstring(L, -1, NULL);
	lua_pop(L, 1); /* the string stays alive in the table */
	return s;
}

/* nl:link_add{ name=, kind=, peer=, peer_netns=, parent=, mode=, mac=, master=, mtu=, up= } */
static int nl_link_add(lua_State *L)
{
	static const char *const keys[] = { "name", "kind", "peer", "peer_netns", "parent", "mode",
					    "mac", "master", "mtu", "up", NULL };
	struct lsh_nl *nl = check_nl(L, 1);
	struct lsh_nl_link_spec sp;
	struct lsh_err *err = NULL;
	int tmp, r;

	luaL_checktype(L, 2, LUA_TTABLE);
	lsh_l_check_keys(L, 2, keys);
	memset(&sp, 0, sizeof sp);
	sp.name = opt_field_str(L, 2, "name");
	sp.kind = opt_field_str(L, 2, "kind");
	sp.peer = opt_field_str(L, 2, "peer");
	sp.parent = opt_field_str(L, 2, "parent");
	sp.mode = opt_field_str(L, 2, "mode");
	sp.mac = opt_field_str(L, 2, "mac");
	sp.master = opt_field_str(L, 2, "master");
	lua_getfield(L, 2, "mtu");
	sp.mtu = (unsigned)luaL_optinteger(L, -1, 0);
	lua_getfield(L, 2, "up");
	sp.up = lua_toboolean(L, -1);
	lua_getfield(L, 2, "peer_netns");
	if ((r = check_ns(L, lua_gettop(L), &sp.peer_ns, &tmp)) != 0)
		return r;
	r = lsh_nl_link_add(nl, &sp, &err);
	if (tmp >= 0)
		close(tmp);
	return lsh_l_result(L, r, err);
}

static int nl_link_del(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct lsh_nl *nl = check_nl(L, 1);
	int rc = lsh_nl_link_del(nl, lsh_l_checkstring(L, 2), &err);
	return lsh_l_result(L, rc, err);
}

static int nl_link_index(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct lsh_nl *nl = check_nl(L, 1);
	int r = lsh_nl_link_index(nl, lsh_l_checkstring(L, 2), &err);
	if (r < 0)
		return lsh_l_fail(L, err);
	lua_pushinteger(L, r);
	return 1;
}

/* nl:link_set(name, { up=, mtu=, name=, mac=, master= (false or "" releases), netns= }) */
static int nl_link_set(lua_State *L)
{
	static const char *const keys[] = { "up", "mtu", "name", "mac", "master", "netns", NULL };
	struct lsh_nl *nl = check_nl(L, 1);
	const char *name = lsh_l_checkstring(L, 2);
	struct lsh_nl_link_change c;
	struct lsh_err *err = NULL;
	int tmp = -1, r;

	luaL_checktype(L, 3, LUA_TTABLE);
	lsh_l_check_keys(L, 3, keys);
	memset(&c, 0, sizeof c);
	if (lua_getfield(L, 3, "up") != LUA_TNIL)
		c.what |= lua_toboolean(L, -1) ? LSH_NL_SET_UP : LSH_NL_SET_DOWN;
	if (lua_getfield(L, 3, "mtu") != LUA_TNIL) {
		c.what |= LSH_NL_SET_MTU;
		c.mtu = (unsigned)luaL_checkinteger(L, -1);
	}
	if ((c.name = opt_field_str(L, 3, "name")) != NULL)
		c.what |= LSH_NL_SET_NAME;
	if ((c.mac = opt_field_str(L, 3, "mac")) != NULL)
		c.what |= LSH_NL_SET_MAC;
	if (lua_getfield(L, 3, "master") != LUA_TNIL) {
		c.what |= LSH_NL_SET_MASTER;
		c.master = lua_type(L, -1) == LUA_TSTRING ? lsh_l_tocstring(L, -1, "master") : NULL;
	}
	if (lua_getfield(L, 3, "netns") != LUA_TNIL) {
		c.what |= LSH_NL_SET_NETNS;
		if ((r = check_ns(L, lua_gettop(L), &c.netns, &tmp)) != 0)
			return r;
	}
	r = lsh_nl_link_set(nl, name, &c, &err);
	if (tmp >= 0)
		close(tmp);
	return lsh_l_result(L, r, err);
}

static int nl_addr(lua_State *L, int add)
{
	struct lsh_err *err = NULL;
	struct lsh_nl *nl = check_nl(L, 1);
	const char *dev = lsh_l_checkstring(L, 2), *cidr = lsh_l_checkstring(L, 3);
	lsh_l_check_nargs(L, 3);
	int r = add ? lsh_nl_addr_add(nl, dev, cidr, &err) : lsh_nl_addr_del(nl, dev, cidr, &err);
	return lsh_l_result(L, r, err);
}

static int nl_addr_add(lua_State *L) { return nl_addr(L, 1); }
static int nl_addr_del(lua_State *L) { return nl_addr(L, 0); }

/* nl:route_add{ dst = "default"|CIDR, via = , dev = } */
static int nl_route(lua_State *L, int add)
{
	static const char *const keys[] = { "dst", "via", "dev", NULL };
	struct lsh_err *err = NULL;
	struct lsh_nl *nl = check_nl(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	lsh_l_check_keys(L, 2, keys);
	const char *dst = opt_field_str(L, 2, "dst");
	const char *via = opt_field_str(L, 2, "via");
	const char *dev = opt_field_str(L, 2, "dev");
	int r = add ? lsh_nl_route_add(nl, dst, via, dev, &err) : lsh_nl_route_del(nl, dst, via, dev, &err);
	return lsh_l_result(L, r, err);
}

static int nl_route_add(lua_State *L) { return nl_route(L, 1); }
static int nl_route_del(lua_State *L) { return nl_route(L, 0); }

static void set_str(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

/* The dump callbacks append a table to the list on the stack top. */
static int link_cb(const struct lsh_nl_link_info *l, void *data)
{
	lua_State *L = data;
	lua_createtable(L, 0, 9);
	set_int(L, "index", l->index);
	set_str(L, "name", l->name);
	if (l->kind)
		set_str(L, "kind", l->kind);
	set_int(L, "mtu", l->mtu);
	lua_pushboolean(L, l->up);
	lua_setfield(L, -2, "up");
	lua_pushboolean(L, (l->flags & IFF_LOWER_UP) != 0);
	lua_setfield(L, -2, "carrier");
	if (l->mac[0])
		set_str(L, "mac", l->mac);
	if (l->master)
		set_int(L, "master", l->master);
	if (l->link)
		set_int(L, "link", l->link);
	if (l->link_netnsid >= 0)
		set_int(L, "link_netnsid", l->link_netnsid);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	return 0;
}

static const char *family_name(int f)
{
	return f == AF_INET ? "inet" : f == AF_INET6 ? "inet6" : "other";
}

static int addr_cb(const struct lsh_nl_addr_info *a, void *data)
{
	lua_State *L = data;
	lua_createtable(L, 0, 5);
	set_int(L, "index", a->index);
	set_str(L, "family", family_name(a->family));
	set_str(L, "address", a->addr);
	set_int(L, "prefix", a->prefix);
	set_int(L, "scope", a->scope);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	return 0;
}

static int route_cb(const struct lsh_nl_route_info *r, void *data)
{
	lua_State *L = data;
	lua_createtable(L, 0, 8);
	set_str(L, "family", family_name(r->family));
	set_str(L, "dst", r->dst_len == 0 ? "default" : r->dst);
	set_int(L, "dst_len", r->dst_len);
	if (r->gateway[0])
		set_str(L, "via", r->gateway);
	if (r->oif)
		set_int(L, "oif", r->oif);
	set_int(L, "table", r->table);
	set_int(L, "protocol", r->protocol);
	set_int(L, "scope", r->scope);
	set_int(L, "type", r->type);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	return 0;
}

static int check_family(lua_State *L, int idx)
{
	static const char *const names[] = { "all", "inet", "inet6", NULL };
	static const int values[] = { AF_UNSPEC, AF_INET, AF_INET6 };
	return values[luaL_checkoption(L, idx, "all", names)];
}

static int nl_links(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct lsh_nl *nl = check_nl(L, 1);
	lua_newtable(L);
	if (lsh_nl_link_dump(nl, link_cb, L, &err) < 0)
		return lsh_l_fail(L, err);
	return 1;
}

static int nl_addrs(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct lsh_nl *nl = check_nl(L, 1);
	int family = check_family(L, 2);
	lua_newtable(L);
	if (lsh_nl_addr_dump(nl, family, addr_cb, L, &err) < 0)
		return lsh_l_fail(L, err);
	return 1;
}

static int nl_routes(lua_State *L)
{
	struct lsh_err *err = NULL;
	struct lsh_nl *nl = check_nl(L, 1);
	int family = check_family(L, 2);
	lua_newtable(L);
	if (lsh_nl_route_dump(nl, family, route_cb, L, &err) < 0)
		return lsh_l_fail(L, err);
	return 1;
}

/* ---- named netns ---- */

static int l_netns_create(lua_State *L)
{
	struct lsh_err *err = NULL;
	const char *name = lsh_l_checkstring(L, 1), *dir;
	int dfd = netns_dir(L, 2, &dir);
	int rc = dfd >= 0 ? lsh_netns_create_at(dfd, name, &err) : lsh_netns_create(dir, name, &err);
	return lsh_l_result(L, rc, err);
}

static int l_netns_delete(lua_State *L)
{
	struct lsh_err *err = NULL;
	const char *name = lsh_l_checkstring(L, 1), *dir;
	int dfd = netns_dir(L, 2, &dir);
	int rc = dfd >= 0 ? lsh_netns_delete_at(dfd, name, &err) : lsh_netns_delete(dir, name, &err);
	return lsh_l_result(L, rc, err);
}

static int l_netns_open(lua_State *L)
{
	struct lsh_err *err = NULL;
	const char *name = lsh_l_checkstring(L, 1), *dir;
	int dfd = netns_dir(L, 2, &dir);
	struct lsh_l_fd *h = lsh_l_newfd(L, "netns");
	int fd = dfd >= 0 ? lsh_netns_open_at(dfd, name, &err) : lsh_netns_open(dir, name, &err);
	return lsh_l_handle(L, h, fd, err);
}

static int l_netns_list(lua_State *L)
{
	struct lsh_err *err = NULL;
	char **names;
	const char *dir;
	int dfd = netns_dir(L, 1, &dir);
	lua_newtable(L);
	if ((dfd >= 0 ? lsh_netns_list_at(dfd, &names, &err) : lsh_netns_list(dir, &names, &err)) < 0)
		return lsh_l_fail(L, err);
	for (size_t i = 0; names[i]; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lsh_netns_list_free(names);
	return 1;
}

/* hold(): becomes a namespace holder and never returns: a session of its own, /dev/null on
 * 0-2, no other fds, then sleep until a signal (SIGTERM/SIGKILL from `net down`) ends it.
 * A rootless topology lives in the user, mount and network namespaces of such a process. */
static int l_hold(lua_State *L)
{
	lsh_l_check_nargs(L, 0);
	setsid();
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	lsh_proc_close_fds(NULL, 0, NULL);
	for (;;)
		pause();
	return 0;
}

void lsh_l_open_net(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "close", nl_close }, { "link_add", nl_link_add }, { "link_del", nl_link_del },
		{ "link_set", nl_link_set }, { "link_index", nl_link_index },
		{ "addr_add", nl_addr_add }, { "addr_del", nl_addr_del },
		{ "route_add", nl_route_add }, { "route_del", nl_route_del },
		{ "links", nl_links }, { "addrs", nl_addrs }, { "routes", nl_routes },
		{ NULL, NULL },
	};
	static const luaL_Reg fns[] = {
		{ "netlink", l_netlink }, { "netns_create", l_netns_create },
		{ "netns_delete", l_netns_delete }, { "netns_open", l_netns_open },
		{ "netns_list", l_netns_list }, { "hold", l_hold },
		{ NULL, NULL },
	};
	if (luaL_newmetatable(L, NL_META)) {
		lua_pushcfunction(L, nl_close);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, nl_close);
		lua_setfield(L, -2, "__close");
		lua_pushcfunction(L, nl_tostring);
		lua_setfield(L, -2, "__tostring");
		luaL_newlib(L, methods);
		lua_setfield(L, -2, "__index");
	}
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
	/* The main routing table, the one `ip route` shows. */
	lua_pushinteger(L, RT_TABLE_MAIN);
	lua_setfield(L, -2, "RT_TABLE_MAIN");
}
